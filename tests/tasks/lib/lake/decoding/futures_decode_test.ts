import assert from "node:assert/strict";
import { readCanonicalEnvelope } from "../../../../../tasks/lib/lake/decoding/canonical_envelope.ts";
import { decodeAnyEnvelope, decodeRecord, WRONG_MARKET } from "../../../../../tasks/lib/lake/decoding/decode.ts";
import { FUTURES_TRADE_TYPES } from "../../../../../tasks/lib/market.ts";

const FUTURES_TRADE =
  '{"e":"trade","E":1700000000123,"T":1700000000120,"s":"BTCUSDT","t":42,"p":"37000.1","q":"0.002","X":"MARKET","m":true}';
const SPOT_TRADE =
  '{"e":"trade","E":1700000000123,"s":"BTCUSDT","t":42,"p":"37000.01","q":"0.0015","T":1700000000120,"m":true,"M":true}';

/** An envelope as the producer lays it out: `market` after `source`, `source_prev_id` before `trade`. */
function envelope(trade: string, options: { market?: string; backfilled?: boolean; sourcePrevId?: number } = {}) {
  return `{"schema_version":1,"source":"binance",${options.market ? `"market":"${options.market}",` : ""}` +
    `"time_unit":"ms","ingested_at_ms":1700000000200,"backfilled":${options.backfilled ?? false},` +
    `${options.sourcePrevId === undefined ? "" : `"source_prev_id":${options.sourcePrevId},`}"trade":${trade}}`;
}

Deno.test("decodeRecord() reads a usdm envelope of each trade type directly, as the general decoder does", () => {
  for (const tradeType of FUTURES_TRADE_TYPES) {
    const value = envelope(FUTURES_TRADE.replace('"X":"MARKET"', `"X":"${tradeType}"`), { market: "usdm" });
    const row = readCanonicalEnvelope(value, 2, 7n, "usdm");
    assert.ok(row, `not read directly: ${value}`);
    assert.equal(row.tradeType, tradeType);
    assert.equal(row.isBestMatch, null, "futures have no best-match flag");
    assert.equal(row.sourcePrevTradeId, undefined);
    assert.equal(row.tradeTimeUs, 1700000000120000);
    assert.deepEqual({ row }, decodeAnyEnvelope(value, 2, 7n, "usdm"), tradeType);
  }
});

Deno.test("decodeRecord() keeps a healed trade's source_prev_id, on both markets", () => {
  const futures = envelope(FUTURES_TRADE.replace('"E":1700000000123,', ""), {
    market: "usdm",
    backfilled: true,
    sourcePrevId: 39,
  });
  const spot = envelope(SPOT_TRADE.replace('"E":1700000000123,', ""), { backfilled: true, sourcePrevId: 41 });
  for (const [value, market, prev] of [[futures, "usdm", 39], [spot, "spot", 41]] as const) {
    const row = readCanonicalEnvelope(value, 0, 0n, market);
    assert.equal(row?.sourcePrevTradeId, prev, value);
    assert.deepEqual(decodeRecord(value, 0, 0n, market), decodeAnyEnvelope(value, 0, 0n, market));
  }
  // Out of order or malformed: the general decoder refuses it.
  for (const prev of ["42", "43", "-1", "1.5", '"7"']) {
    const value = envelope(SPOT_TRADE, {}).replace('"trade":', `"source_prev_id":${prev},"trade":`);
    const decoded = decodeRecord(value, 0, 0n);
    assert.equal("reason" in decoded && decoded.reason, "invalid_envelope", prev);
  }
  // Spot rows without it stay as they were: no new key.
  const plain = decodeRecord(envelope(SPOT_TRADE), 0, 0n);
  assert.ok("row" in plain && !("sourcePrevTradeId" in plain.row) && !("tradeType" in plain.row));
});

Deno.test("decodeRecord() sends a record of the other market to the DLQ as wrong_market, never into the dataset", () => {
  const cases: [string, "spot" | "usdm", RegExp][] = [
    [envelope(FUTURES_TRADE, { market: "usdm" }), "spot", /usdm trade on the spot/],
    [envelope(SPOT_TRADE), "usdm", /spot trade on the usdm/],
    [envelope(SPOT_TRADE, { market: "spot" }), "usdm", /spot trade on the usdm/],
    [envelope(FUTURES_TRADE), "spot", /has X/],
    [envelope(SPOT_TRADE, { market: "usdm" }), "usdm", /has M/],
    [envelope(FUTURES_TRADE.replace(',"X":"MARKET"', ""), { market: "usdm" }), "usdm", /no X/],
  ];
  for (const [value, market, detail] of cases) {
    const decoded = decodeRecord(value, 0, 0n, market);
    assert.ok("reason" in decoded, value);
    assert.equal(decoded.reason, WRONG_MARKET, value);
    assert.match(decoded.detail, detail);
    assert.deepEqual(decoded, decodeAnyEnvelope(value, 0, 0n, market));
  }
  const odd = decodeRecord(
    envelope(FUTURES_TRADE.replace('"MARKET"', '"LIQUIDATION"'), { market: "usdm" }),
    0,
    0n,
    "usdm",
  );
  assert.equal("reason" in odd && odd.reason, "wrong_type");
  const unknown = decodeRecord(envelope(FUTURES_TRADE, { market: "coinm" }), 0, 0n, "usdm");
  assert.equal("reason" in unknown && unknown.reason, "invalid_envelope");
});

Deno.test("decodeRecord() answers as the general decoder does for every corrupted usdm envelope", () => {
  const value = envelope(FUTURES_TRADE, { market: "usdm" });
  const replacements = ['"', "0", "1", ".", " ", "A", "}", ",", "x"];
  for (let at = 0; at <= value.length; at++) {
    for (
      const variant of [
        value.slice(0, at) + value.slice(at + 1),
        ...replacements.map((text) => value.slice(0, at) + text + value.slice(at + 1)),
      ]
    ) {
      for (const market of ["spot", "usdm"] as const) {
        assert.deepEqual(decodeRecord(variant, 0, 1n, market), decodeAnyEnvelope(variant, 0, 1n, market), variant);
      }
    }
  }
});
