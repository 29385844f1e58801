import assert from "node:assert/strict";
import {
  DLQ_REASONS,
  type FrameResult,
  MAX_FRAME_BYTES,
  parseTradeFrame,
  timeUnitOf,
  validateTrade,
} from "../../../../tasks/lib/ingest/trade_event.ts";
import { TRADE } from "../../../helpers/fixtures.ts";

const SUBSCRIBED = new Set(["BTCUSDT", "ETHUSDT"]);

const frame = (overrides: Record<string, unknown>) => JSON.stringify({ ...TRADE, ...overrides });
const reasonOf = (result: FrameResult) => result.kind === "invalid" ? result.reason : result.kind;

Deno.test("parseTradeFrame() accepts a raw-stream trade and keeps its text", () => {
  const frame = JSON.stringify(TRADE);
  assert.deepEqual(parseTradeFrame(frame, SUBSCRIBED), { kind: "trade", trade: TRADE, raw: frame });
});

Deno.test("parseTradeFrame() unwraps a combined-stream trade and keeps the payload text", () => {
  const result = parseTradeFrame(JSON.stringify({ stream: "btcusdt@trade", data: TRADE }), SUBSCRIBED);
  assert.deepEqual(result, { kind: "trade", trade: TRADE, raw: JSON.stringify(TRADE) });
  const reordered = parseTradeFrame(JSON.stringify({ data: TRADE, stream: "btcusdt@trade" }), SUBSCRIBED);
  assert.deepEqual(
    reordered,
    { kind: "trade", trade: TRADE },
    "another layout: no raw text, the trade is re-serialised",
  );
});

Deno.test("parseTradeFrame() reports the shutdown notice as a control event", () => {
  assert.deepEqual(parseTradeFrame('{"e":"serverShutdown","E":1}', SUBSCRIBED), {
    kind: "control",
    event: "serverShutdown",
  });
});

Deno.test("parseTradeFrame() gives each kind of bad event its reason", () => {
  const cases: [string, string][] = [
    ["x".repeat(MAX_FRAME_BYTES + 1), "oversized"],
    ['{"e":"trade",', "malformed_json"],
    ["[1,2]", "not_an_object"],
    ["42", "not_an_object"],
    ['{"stream":"btcusdt@trade","data":7}', "not_an_object"],
    [frame({ e: "aggTrade" }), "unknown_event"],
    [frame({ e: undefined }), "missing_field"],
    [frame({ p: undefined }), "missing_field"],
    [frame({ t: null }), "wrong_type"],
    [frame({ E: undefined }), "missing_field"],
    [frame({ p: 37000.01 }), "wrong_type"],
    [frame({ t: "42" }), "wrong_type"],
    [frame({ t: -1 }), "wrong_type"],
    [frame({ t: 2 ** 60 }), "wrong_type"],
    [frame({ T: "now" }), "wrong_type"],
    [frame({ m: "true" }), "wrong_type"],
    [frame({ s: 7 }), "wrong_type"],
    [frame({ s: "../../x" }), "invalid_symbol"],
    [frame({ s: "BTC/USDT" }), "invalid_symbol"],
    [frame({ s: "btcusdt" }), "invalid_symbol"],
    [frame({ s: "SOLUSDT" }), "unsubscribed_symbol"],
    [JSON.stringify({ stream: "ethusdt@trade", data: TRADE }), "stream_mismatch"],
    [frame({ p: "1e309" }), "invalid_decimal"],
    [frame({ p: "-5.0" }), "invalid_decimal"],
    [frame({ p: "NaN" }), "invalid_decimal"],
    [frame({ q: " 1" }), "invalid_decimal"],
    [frame({ p: "0.00000000" }), "non_positive_price"],
    [frame({ q: "0" }), "non_positive_quantity"],
    [frame({ p: "1234567890123.0" }), "out_of_range"],
    [frame({ q: "0.000000001" }), "out_of_range"],
  ];
  for (const [input, reason] of cases) {
    assert.equal(reasonOf(parseTradeFrame(input, SUBSCRIBED)), reason, input.slice(0, 80));
  }
});

Deno.test("parseTradeFrame() names the symbol of a bad trade when it is known", () => {
  const result = parseTradeFrame(frame({ q: "-1" }), SUBSCRIBED);
  assert.equal(result.kind === "invalid" && result.symbol, "BTCUSDT");
});

Deno.test("parseTradeFrame() accepts historical and microsecond times", () => {
  assert.equal(parseTradeFrame(frame({ T: 1_500_000_000_000, E: 1_500_000_000_001 }), SUBSCRIBED).kind, "trade");
  assert.equal(
    parseTradeFrame(frame({ T: 1_735_689_600_010_866, E: 1_735_689_600_010_900 }), SUBSCRIBED).kind,
    "trade",
  );
  assert.equal(timeUnitOf(1_735_689_600_010_866), "us");
  assert.equal(timeUnitOf(1_735_689_600_010), "ms");
});

const FUTURES_TRADE = {
  e: "trade",
  E: 1700000000123,
  T: 1700000000120,
  s: "BTCUSDT",
  t: 42,
  p: "37000.1",
  q: "0.001",
  X: "MARKET",
  m: true,
};
const futuresFrame = (overrides: Record<string, unknown>) => JSON.stringify({ ...FUTURES_TRADE, ...overrides });

Deno.test("parseTradeFrame() on spot sends a futures trade (it has X) to the DLQ as wrong_market", () => {
  const result = parseTradeFrame(futuresFrame({}), SUBSCRIBED);
  assert.equal(reasonOf(result), "wrong_market");
  assert.match(result.kind === "invalid" ? result.detail : "", /^X is present/);
  assert.equal(reasonOf(parseTradeFrame(frame({ X: "MARKET" }), SUBSCRIBED)), "wrong_market", "even with M");
  assert.equal(reasonOf(parseTradeFrame(frame({ M: undefined }), SUBSCRIBED)), "trade", "no M, no X: as before");
});

Deno.test("parseTradeFrame() on usdm accepts each futures trade type and keeps the text", () => {
  for (const type of ["MARKET", "INSURANCE_FUND", "ADL", "NA"]) {
    const text = futuresFrame({ X: type });
    assert.deepEqual(parseTradeFrame(text, SUBSCRIBED, "usdm"), {
      kind: "trade",
      trade: { ...FUTURES_TRADE, X: type },
      raw: text,
    });
  }
});

Deno.test("parseTradeFrame() on usdm sends spot trades and bad trade types to the DLQ", () => {
  const cases: [string, string, RegExp][] = [
    [JSON.stringify(TRADE), "wrong_market", /^M is present/],
    [futuresFrame({ M: true }), "wrong_market", /^M is present/],
    [futuresFrame({ X: undefined }), "wrong_market", /^X is missing/],
    [futuresFrame({ X: "LIQUIDATION" }), "wrong_type", /^X must be one of MARKET, INSURANCE_FUND, ADL, NA/],
    [futuresFrame({ X: 1 }), "wrong_type", /^X must be one of/],
    [futuresFrame({ T: 1_735_689_600_010_866, E: 1_735_689_600_010_900 }), "wrong_type", /ms on USDⓈ-M/],
  ];
  for (const [input, reason, detail] of cases) {
    const result = parseTradeFrame(input, SUBSCRIBED, "usdm");
    assert.equal(reasonOf(result), reason, input);
    assert.match(result.kind === "invalid" ? result.detail : "", detail, input);
    assert.equal(result.kind === "invalid" && result.symbol, "BTCUSDT");
  }
});

Deno.test("validateTrade() without a market checks neither market's fields (envelope readers)", () => {
  assert.equal(validateTrade({ ...FUTURES_TRADE }, undefined).kind, "trade");
  assert.equal(validateTrade({ ...TRADE }, undefined).kind, "trade");
  assert.equal(reasonOf(validateTrade({ ...FUTURES_TRADE, X: "FOO" }, undefined)), "wrong_type");
  assert.ok(DLQ_REASONS.includes("wrong_market"));
});
