import assert from "node:assert/strict";
import { aggregateTrades, aggTradeJson } from "../../../../tasks/lib/exchange/agg_trades.ts";
import { fixtureTrade } from "./_trades.ts";

const T = 1_700_000_000_000;

Deno.test("aggregateTrades() joins consecutive trades of one price, side and millisecond, f..l covering them", () => {
  const trades = [
    fixtureTrade(10, T, "100.0", "1", true),
    fixtureTrade(11, T, "100.0", "2", true), // joins 10
    fixtureTrade(12, T, "100.0", "1", false), // other side
    fixtureTrade(13, T, "100.1", "1", false), // other price
    fixtureTrade(14, T + 1, "100.1", "1", false), // other millisecond
    fixtureTrade(16, T + 1, "100.1", "3", false), // 15 is a non-market trade between: not joined
  ];
  const rows = aggregateTrades(trades, 500).map((a) => aggTradeJson(a, "ms"));
  assert.deepEqual(rows, [
    { a: 500, p: "100.00000000", q: "3.00000000", f: 10, l: 11, T, m: true },
    { a: 501, p: "100.00000000", q: "1.00000000", f: 12, l: 12, T, m: false },
    { a: 502, p: "100.10000000", q: "1.00000000", f: 13, l: 13, T, m: false },
    { a: 503, p: "100.10000000", q: "1.00000000", f: 14, l: 14, T: T + 1, m: false },
    { a: 504, p: "100.10000000", q: "3.00000000", f: 16, l: 16, T: T + 1, m: false },
  ]);
  const covered = rows.flatMap((row) => Array.from({ length: row.l - row.f + 1 }, (_, i) => row.f + i));
  assert.deepEqual(covered, trades.map((trade) => trade.id), "f..l cover every trade once, in order");
});
