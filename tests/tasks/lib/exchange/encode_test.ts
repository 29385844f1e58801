import assert from "node:assert/strict";
import {
  futuresRestTrade,
  futuresTradeEventJson,
  marketTradeEventJson,
  tradeEventJson,
} from "../../../../tasks/lib/exchange/encode.ts";
import { fixtureTrade } from "./_trades.ts";

const SPOT = fixtureTrade(1000, 1_700_000_000_123, "60000.1", "0.002", true);
const FUTURES = { ...SPOT, eventTimeUs: SPOT.eventTimeUs + 5000, tradeType: "INSURANCE_FUND" as const };

Deno.test("futuresTradeEventJson() writes Binance's futures frame: T after E, X, no M", () => {
  assert.equal(
    futuresTradeEventJson(FUTURES, "ms"),
    '{"e":"trade","E":1700000000128,"T":1700000000123,"s":"BTCUSDT","t":1000,"p":"60000.10000000",' +
      '"q":"0.00200000","X":"INSURANCE_FUND","m":true}',
  );
  assert.equal(JSON.parse(futuresTradeEventJson(FUTURES, "us")).T, 1_700_000_000_123_000);
  assert.equal(JSON.parse(futuresTradeEventJson(SPOT, "ms")).X, "MARKET");
});

Deno.test("marketTradeEventJson() writes a typed trade as futures and an untyped one as spot", () => {
  assert.equal(marketTradeEventJson(SPOT, "ms"), tradeEventJson(SPOT, "ms"));
  assert.equal(marketTradeEventJson(FUTURES, "ms"), futuresTradeEventJson(FUTURES, "ms"));
  assert.equal(JSON.parse(marketTradeEventJson(SPOT, "ms")).M, true);
  assert.equal("M" in JSON.parse(marketTradeEventJson(FUTURES, "ms")), false);
});

Deno.test("futuresRestTrade() shows a trade without isBestMatch", () => {
  assert.deepEqual(futuresRestTrade(FUTURES, "ms"), {
    id: 1000,
    price: "60000.10000000",
    qty: "0.00200000",
    quoteQty: "120.00020000",
    time: 1_700_000_000_123,
    isBuyerMaker: true,
  });
});
