import assert from "node:assert/strict";
import { streamUrl } from "../../../../tasks/lib/ingest/exchange_stream.ts";

Deno.test("streamUrl() builds a combined-stream URL with lowercase stream names", () => {
  assert.equal(
    streamUrl(new URL("wss://stream.binance.com:9443"), ["BTCUSDT", "ETHUSDT"]).href,
    "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade",
  );
  assert.equal(
    streamUrl(new URL("ws://127.0.0.1:8080/base/"), ["SOLUSDT"]).href,
    "ws://127.0.0.1:8080/base/stream?streams=solusdt@trade",
  );
});
