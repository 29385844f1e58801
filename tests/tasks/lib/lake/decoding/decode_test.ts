import assert from "node:assert/strict";
import { decodeRecord, type LakeRow } from "../../../../../tasks/lib/lake/decoding/decode.ts";
import { TRADE } from "../../../../helpers/fixtures.ts";

const envelope = (overrides: Record<string, unknown> = {}, trade: object = TRADE) =>
  JSON.stringify({
    schema_version: 1,
    source: "binance",
    time_unit: "ms",
    ingested_at_ms: 1700000000200,
    backfilled: false,
    trade,
    ...overrides,
  });

Deno.test("decodeRecord() reads a v1 envelope into a lake row", () => {
  const decoded = decodeRecord(envelope(), 1, 99n);
  assert.ok("row" in decoded);
  const expected: LakeRow = {
    partition: { pair: "BTCUSDT", tradeDate: "2023-11-14", hour: 22 },
    tradeId: 42,
    price: "37000.01000000",
    quantity: "0.00150000",
    tradeTimeUs: 1700000000120000,
    eventTimeUs: 1700000000123000,
    timeUnit: "ms",
    isBuyerMaker: true,
    isBestMatch: true,
    ingestedAtMs: 1700000000200,
    isBackfilled: false,
    schemaVersion: 1,
    producerId: null,
    kafkaPartition: 1,
    kafkaOffset: 99n,
  };
  assert.deepEqual(decoded.row, expected);
});

Deno.test("decodeRecord() reads v2 (producer_id added), µs times and backfilled trades without E", () => {
  const v2 = decodeRecord(envelope({ schema_version: 2, producer_id: "p-1" }), 0, 0n);
  assert.ok("row" in v2 && v2.row.producerId === "p-1" && v2.row.schemaVersion === 2);
  const micro = decodeRecord(
    envelope({ time_unit: "us" }, { ...TRADE, T: 1735689600010866, E: 1735689600010900 }),
    0,
    0n,
  );
  assert.ok("row" in micro && micro.row.tradeTimeUs === 1735689600010866);
  const { E: _E, ...noEventTime } = TRADE;
  const backfilled = decodeRecord(envelope({ backfilled: true }, noEventTime), 0, 0n);
  assert.ok("row" in backfilled && backfilled.row.eventTimeUs === null && backfilled.row.isBackfilled);
});

Deno.test("decodeRecord() gives every undecodable record a reason", () => {
  const cases: [string | null, string][] = [
    [null, "empty_record"],
    ["{nope", "malformed_json"],
    ["[1]", "invalid_envelope"],
    [envelope({ schema_version: 3 }), "unknown_schema_version"],
    [envelope({ time_unit: "s" }), "invalid_envelope"],
    [envelope({ trade: "x" }), "invalid_envelope"],
    [envelope({}, { ...TRADE, s: "../../x" }), "invalid_symbol"],
    [envelope({}, { ...TRADE, s: "BTC/USDT" }), "invalid_symbol"],
    [envelope({}, { ...TRADE, p: "-1" }), "invalid_decimal"],
    [envelope({}, { ...TRADE, E: undefined }), "missing_field"],
  ];
  for (const [value, reason] of cases) {
    const decoded = decodeRecord(value, 0, 0n);
    assert.equal("reason" in decoded ? decoded.reason : "row", reason, String(value).slice(0, 80));
  }
});
