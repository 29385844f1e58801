import assert from "node:assert/strict";
import { formatScorecard, type PairScore, scorecardTotals } from "../../../../tasks/lib/warehouse/scorecard.ts";

const pair = (overrides: Partial<PairScore>): PairScore => ({
  market: "spot",
  pair: "BTCUSDT",
  trades: 120,
  open: 100,
  close: 101,
  closeText: "101.00",
  lastMinuteAt: new Date("2026-12-04T10:59:00Z"),
  klinesChecked: 9,
  klinesMatched: 9,
  gapsFound: 3,
  gapsHealed: 3,
  gapsOpen: 0,
  idsHealed: 41,
  dlqEvents: 4,
  status: "ok",
  ...overrides,
});

const window = { start: new Date("2026-12-04T10:00:00Z"), end: new Date("2026-12-04T11:00:00Z") };

Deno.test("formatScorecard: a line per pair with the report's figures, futures named, dead letters without a pair said", () => {
  const card = {
    pairs: [pair({}), pair({ market: "usdm", pair: "ETHUSDT", klinesChecked: 0, klinesMatched: 0, status: null })],
    dlqByReason: { bad_price: 5, malformed_json: 2 },
    dlqWithoutPair: 2,
  };
  assert.equal(
    formatScorecard(card, window),
    [
      "marts, 2026-12-04 10:00 to 2026-12-04 11:00 UTC (the report's window):",
      "  BTCUSDT          120 trades, klines 9 of 9, gaps 3 found / 3 healed / 0 open, 4 DLQ, status ok",
      "  ETHUSDT (usdm)   120 trades, klines not checked yet, gaps 3 found / 3 healed / 0 open, 4 DLQ, status -",
      "  dead letters: 7 (2 without a pair)",
    ].join("\n"),
  );
  assert.equal(scorecardTotals(card).dlqEvents, 7);
});
