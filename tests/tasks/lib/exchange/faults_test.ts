import assert from "node:assert/strict";
import {
  drawFaults,
  FaultInjector,
  type FaultKind,
  malformedFrame,
  missingFieldsPayload,
  OVERSIZED_BYTES,
  oversizedPayload,
  parseFaultRates,
  wrongMarketPayload,
  wrongTypesPayload,
} from "../../../../tasks/lib/exchange/faults.ts";
import { tradeEventJson } from "../../../../tasks/lib/exchange/encode.ts";
import { mulberry32 } from "../../../../tasks/lib/exchange/prng.ts";
import { fixtureTrade } from "./_trades.ts";

const TRADE = fixtureTrade(1000, 1_700_000_000_000, "60000.01", "0.0015", false);
const VALID = tradeEventJson(TRADE, "ms");
const TARGET = { combined: false, unit: "ms" as const, subscribed: new Set(["BTCUSDT"]), otherSymbols: ["ETHUSDT"] };

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

Deno.test("parseFaultRates() reads kind=rate lists", () => {
  assert.deepEqual(parseFaultRates("malformed_json=0.01, drop=1,stall=0"), { malformed_json: 0.01, drop: 1, stall: 0 });
  assert.deepEqual(parseFaultRates(""), {});
});

Deno.test("parseFaultRates() names the bad item", () => {
  assert.throws(
    () => parseFaultRates("explode=0.1"),
    /Cannot parse fault "explode=0.1": unknown kind, expected one of/,
  );
  assert.throws(() => parseFaultRates("drop=2"), /Cannot parse fault "drop=2": expected a rate from 0 to 1/);
  assert.throws(() => parseFaultRates("drop"), /expected kind=rate/);
  assert.throws(() => parseFaultRates("drop=-0.5"), RangeError);
});

Deno.test("drawFaults() is deterministic for a seed and hits at about the given rate", () => {
  const draw = (seed: number) => {
    const random = mulberry32(seed);
    return Array.from({ length: 10_000 }, () => drawFaults({ duplicate: 0.1, drop: 1, stall: 0 }, random));
  };
  const draws = draw(9);
  assert.deepEqual(draws, draw(9));
  const duplicates = draws.filter((hits) => hits.includes("duplicate")).length;
  assert.ok(duplicates > 900 && duplicates < 1100, `${duplicates}`);
  assert.ok(draws.every((hits) => hits.includes("drop") && !hits.includes("stall")));
});

Deno.test("malformedFrame() never yields JSON", () => {
  const random = mulberry32(1);
  for (let i = 0; i < 200; i++) assert.ok(!isJson(malformedFrame(VALID, random)));
});

Deno.test("wrongTypesPayload() and missingFieldsPayload() break the trade schema", () => {
  const random = mulberry32(2);
  for (let i = 0; i < 50; i++) {
    const wrong = JSON.parse(wrongTypesPayload(TRADE, "ms", random));
    const typesOk = typeof wrong.p === "string" && typeof wrong.q === "string" && typeof wrong.t === "number" &&
      typeof wrong.T === "number" && typeof wrong.m === "boolean" && typeof wrong.s === "string";
    assert.ok(!typesOk, JSON.stringify(wrong));
    const missing = JSON.parse(missingFieldsPayload(TRADE, "ms", random));
    assert.equal(Object.keys(missing).length, 8);
  }
});

Deno.test("oversizedPayload() is valid JSON above 64 KiB", () => {
  const frame = oversizedPayload(TRADE, "ms");
  assert.ok(frame.length > OVERSIZED_BYTES);
  assert.equal(JSON.parse(frame).t, TRADE.id);
});

Deno.test("FaultInjector sends the valid trade intact before any extra bad frame", () => {
  const rates = {
    malformed_json: 1,
    wrong_types: 1,
    missing_fields: 1,
    bad_price: 1,
    bad_qty: 1,
    unknown_event: 1,
    unsubscribed_symbol: 1,
    oversized: 1,
  };
  const deliveries = new FaultInjector(rates, mulberry32(3), TARGET).deliver(TRADE, VALID, false);
  assert.deepEqual(deliveries[0], { action: "send", frame: VALID });
  const extras = deliveries.slice(1);
  assert.deepEqual(extras.map((d) => d.fault), Object.keys(rates));
  for (const delivery of extras) {
    assert.equal(delivery.action, "send");
    if (delivery.action === "send") assert.notEqual(delivery.frame, VALID);
  }
  const byFault = Object.fromEntries(extras.map((d) => [d.fault, d.action === "send" ? d.frame : ""]));
  assert.match(JSON.parse(byFault.bad_price!).p, /^(0\.00000000|-5\.0|1e309|-1\.00000000|NaN|)$/);
  assert.equal(JSON.parse(byFault.unknown_event!).e, "foo");
  assert.notEqual(JSON.parse(byFault.unsubscribed_symbol!).s, "BTCUSDT");
});

Deno.test("FaultInjector wraps bad frames of combined streams", () => {
  const injector = new FaultInjector({ unsubscribed_symbol: 1 }, mulberry32(4), { ...TARGET, combined: true });
  const [, extra] = injector.deliver(TRADE, `{"stream":"btcusdt@trade","data":${VALID}}`, false);
  const frame = JSON.parse(extra?.action === "send" ? extra.frame : "null");
  assert.equal(frame.stream, `${frame.data.s.toLowerCase()}@trade`);
  assert.notEqual(frame.data.s, "BTCUSDT");
});

Deno.test("FaultInjector swaps two trades for out_of_order, only when another trade is queued", () => {
  const injector = new FaultInjector({ out_of_order: 1 }, mulberry32(5), TARGET);
  assert.deepEqual(injector.deliver(TRADE, "a", true), []);
  assert.deepEqual(injector.deliver(TRADE, "b", true), [
    { action: "send", frame: "b" },
    { action: "send", frame: "a", fault: "out_of_order" },
  ]);
  assert.deepEqual(injector.deliver(TRADE, "c", false), [{ action: "send", frame: "c" }]);
});

Deno.test("FaultInjector re-sends the previous valid trade for duplicate, then stalls or drops last", () => {
  const injector = new FaultInjector({ duplicate: 1 }, mulberry32(6), TARGET);
  assert.deepEqual(injector.deliver(TRADE, "a", false), [
    { action: "send", frame: "a" },
    { action: "send", frame: "a", fault: "duplicate" },
  ]);
  assert.deepEqual(injector.deliver(TRADE, "b", false)[1], { action: "send", frame: "a", fault: "duplicate" });
  const ending = new FaultInjector({ stall: 1, drop: 1 }, mulberry32(7), TARGET).deliver(TRADE, "a", true);
  assert.deepEqual(ending.map((d) => d.fault ?? d.action), ["send", "stall", "drop"] satisfies (FaultKind | "send")[]);
});

Deno.test("wrongMarketPayload() sends spot's shape on a futures stream and a futures frame on a spot one", () => {
  const futures = { ...TRADE, tradeType: "MARKET" as const };
  const onUsdm = JSON.parse(wrongMarketPayload(futures, "ms"));
  assert.equal(onUsdm.M, true);
  assert.equal("X" in onUsdm, false);
  const onSpot = JSON.parse(wrongMarketPayload(TRADE, "ms"));
  assert.equal(onSpot.X, "MARKET");
  assert.equal("M" in onSpot, false);
  const injector = new FaultInjector({ wrong_market: 1 }, mulberry32(1), { ...TARGET, combined: true });
  const [valid, bad] = injector.deliver(futures, "VALID", false);
  assert.deepEqual(valid, { action: "send", frame: "VALID" });
  assert.equal(bad!.action === "send" && bad!.fault, "wrong_market");
  assert.equal(JSON.parse((bad as { frame: string }).frame).stream, "btcusdt@trade");
});
