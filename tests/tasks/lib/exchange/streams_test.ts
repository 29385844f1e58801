import assert from "node:assert/strict";
import { parseSubscription, parseTimeUnit } from "../../../../tasks/lib/exchange/streams.ts";

const SERVED = new Set(["BTCUSDT", "ETHUSDT"]);
const at = (path: string) => new URL(`ws://127.0.0.1:9443${path}`);

Deno.test("parseSubscription() reads a raw stream", () => {
  assert.deepEqual(parseSubscription(at("/ws/btcusdt@trade"), SERVED), {
    symbols: ["BTCUSDT"],
    combined: false,
    unit: "ms",
  });
});

Deno.test("parseSubscription() reads combined streams without repeats and the time unit in any case", () => {
  assert.deepEqual(
    parseSubscription(at("/stream?streams=btcusdt@trade/ethusdt@trade/btcusdt@trade&timeUnit=microsecond"), SERVED),
    { symbols: ["BTCUSDT", "ETHUSDT"], combined: true, unit: "us" },
  );
});

Deno.test("parseSubscription() refuses malformed and unknown streams with a message", () => {
  assert.throws(() => parseSubscription(at("/ws/BTCUSDT@trade"), SERVED), /lower-case symbol/);
  assert.throws(() => parseSubscription(at("/ws/btcusdt@depth"), SERVED), /expected <symbol>@trade/);
  assert.throws(
    () => parseSubscription(at("/ws/dogeusdt@trade"), SERVED),
    /symbol not served, expected one of btcusdt/,
  );
  assert.throws(() => parseSubscription(at("/stream"), SERVED), /expected \/stream\?streams=/);
  assert.throws(() => parseSubscription(at("/other"), SERVED), /Cannot subscribe at "\/other"/);
});

Deno.test("parseTimeUnit() accepts MILLISECOND and MICROSECOND only", () => {
  assert.equal(parseTimeUnit(null), "ms");
  assert.equal(parseTimeUnit("MilliSecond"), "ms");
  assert.equal(parseTimeUnit("MICROSECOND"), "us");
  assert.throws(() => parseTimeUnit("NANOSECOND"), /Cannot use timeUnit "NANOSECOND"/);
});
