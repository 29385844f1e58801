import assert from "node:assert/strict";
import { dlqMessage, MAX_DLQ_RAW_CHARS, tradeFromRest, tradeMessage } from "../../../../tasks/lib/ingest/envelope.ts";
import { TRADE } from "../../../helpers/fixtures.ts";

Deno.test("tradeMessage() wraps the trade unchanged in a v1 envelope keyed by symbol", () => {
  const message = tradeMessage(TRADE, 1700000000200, false);
  assert.equal(message.key, "BTCUSDT");
  assert.equal(message.timestamp, "1700000000120");
  assert.equal(message.headers, undefined);
  assert.equal(
    message.value,
    '{"schema_version":1,"source":"binance","time_unit":"ms","ingested_at_ms":1700000000200,"backfilled":false,' +
      '"trade":{"e":"trade","E":1700000000123,"s":"BTCUSDT","t":42,"p":"37000.01000000","q":"0.00150000","T":1700000000120,"m":true,"M":true}}',
  );
});

Deno.test("tradeMessage() embeds the payload text exactly as received", () => {
  const raw =
    '{"e":"trade","E":1700000000123,"s":"BTCUSDT","t":42,"p":"37000.01000000","q":"0.00150000","T":1700000000120,"m":true,"M":true,"x":"extra"}';
  const message = tradeMessage(TRADE, 5, false, raw);
  assert.ok(message.value.endsWith(`"trade":${raw}}`));
  assert.equal(JSON.parse(message.value).trade.x, "extra");
});

Deno.test("tradeMessage() marks microsecond trades and stamps Kafka in ms", () => {
  const message = tradeMessage({ ...TRADE, T: 1735689600010866, E: 1735689600010900 }, 1, true);
  assert.equal(message.timestamp, "1735689600010");
  assert.equal(JSON.parse(message.value).time_unit, "us");
  assert.equal(JSON.parse(message.value).backfilled, true);
});

Deno.test("dlqMessage() keeps the reason and a bounded copy of the raw frame", () => {
  const raw = "y".repeat(MAX_DLQ_RAW_CHARS + 10);
  const message = dlqMessage(raw, "oversized", "too big", 5);
  const record = JSON.parse(message.value);
  assert.equal(message.key, null);
  assert.equal(message.headers?.reason, "oversized");
  assert.equal(record.raw.length, MAX_DLQ_RAW_CHARS);
  assert.equal(record.raw_length, raw.length);
  assert.equal(record.raw_truncated, true);
  assert.equal(dlqMessage("{}", "missing_field", "e is missing", 5, "ETHUSDT").key, "ETHUSDT");
});

Deno.test("tradeFromRest() maps a historicalTrades row to the stream shape", () => {
  assert.deepEqual(
    tradeFromRest("BTCUSDT", {
      id: 7,
      price: "1.10000000",
      qty: "2.00000000",
      time: 9,
      isBuyerMaker: false,
      isBestMatch: true,
    }),
    { e: "trade", s: "BTCUSDT", t: 7, p: "1.10000000", q: "2.00000000", T: 9, m: false, M: true },
  );
});

const FUTURES_TRADE = {
  e: "trade" as const,
  E: 1700000000123,
  T: 1700000000120,
  s: "BTCUSDT",
  t: 42,
  p: "37000.1",
  q: "0.001",
  X: "MARKET",
  m: true,
};

Deno.test("tradeMessage() on usdm adds the market right after the source", () => {
  const raw = JSON.stringify(FUTURES_TRADE);
  assert.equal(
    tradeMessage(FUTURES_TRADE, 1700000000200, false, raw, { market: "usdm" }).value,
    '{"schema_version":1,"source":"binance","market":"usdm","time_unit":"ms","ingested_at_ms":1700000000200,' +
      `"backfilled":false,"trade":${raw}}`,
  );
});

Deno.test("tradeMessage() carries source_prev_id for a healed trade, and spot stays as it was", () => {
  const value = tradeMessage(FUTURES_TRADE, 5, true, undefined, { market: "usdm", sourcePrevId: 40 }).value;
  assert.equal(
    value,
    '{"schema_version":1,"source":"binance","market":"usdm","time_unit":"ms","ingested_at_ms":5,"backfilled":true,' +
      `"source_prev_id":40,"trade":${JSON.stringify(FUTURES_TRADE)}}`,
  );
  assert.equal(JSON.parse(value).source_prev_id, 40);
  assert.equal(
    tradeMessage(TRADE, 1700000000200, false, undefined, { market: "spot" }).value,
    tradeMessage(TRADE, 1700000000200, false).value,
    "spot: byte for byte the envelope it always was",
  );
});

Deno.test("tradeFromRest() on usdm marks the trade MARKET and gives it no M", () => {
  assert.deepEqual(
    tradeFromRest("BTCUSDT", { id: 7, price: "1.1", qty: "0.002", time: 9, isBuyerMaker: false }, "usdm"),
    { e: "trade", s: "BTCUSDT", t: 7, p: "1.1", q: "0.002", T: 9, m: false, X: "MARKET" },
  );
});
