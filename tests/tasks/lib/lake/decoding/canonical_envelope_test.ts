import assert from "node:assert/strict";
import { readCanonicalEnvelope } from "../../../../../tasks/lib/lake/decoding/canonical_envelope.ts";
import { decodeAnyEnvelope, decodeRecord } from "../../../../../tasks/lib/lake/decoding/decode.ts";
import { tradeMessage } from "../../../../../tasks/lib/ingest/envelope.ts";
import type { TradePayload } from "../../../../../tasks/lib/ingest/trade_event.ts";

// Deterministic, so a failure names an input that fails again.
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DECIMALS = ["67234.01000000", "0.00010000", "1", "000012.5", "999999999999.99999999", "0.1", "3.14159265"];
const SYMBOLS = ["BTCUSDT", "ETHUSDT", "1000PEPEUSDT", "AB"];

/** Envelopes as the producer writes them, across every optional part of the layout. */
function producerEnvelopes(count: number, random: () => number): string[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const micro = random() < 0.3;
    const timeMs = 1_700_000_000_000 + Math.floor(random() * 86_400_000 * 400);
    const time = micro ? timeMs * 1000 + Math.floor(random() * 1000) : timeMs;
    const backfilled = random() < 0.2;
    const trade: TradePayload = {
      e: "trade",
      ...(backfilled ? {} : { E: time + 3 }),
      s: pick(SYMBOLS),
      t: i === 0 ? 0 : Math.floor(random() * 10 ** Math.floor(random() * 15)),
      p: pick(DECIMALS),
      q: pick(DECIMALS),
      T: time,
      m: random() < 0.5,
      ...(random() < 0.8 ? { M: random() < 0.9 } : {}),
    };
    return tradeMessage(trade, timeMs + 40, backfilled).value;
  });
}

Deno.test("readCanonicalEnvelope() reads the producer's envelopes into the rows the general decoder gives", () => {
  const random = seededRandom(7);
  for (const [offset, value] of producerEnvelopes(2000, random).entries()) {
    const row = readCanonicalEnvelope(value, 3, BigInt(offset));
    assert.ok(row, `not read: ${value}`);
    assert.deepEqual({ row }, decodeAnyEnvelope(value, 3, BigInt(offset)), value);
  }
});

Deno.test("decodeRecord() answers as the general decoder does for every corrupted envelope", () => {
  // Each envelope with one character replaced, removed or added at every position: the fast reader either steps
  // aside or agrees, whether the general decoder then writes the record or sends it to the DLQ.
  const random = seededRandom(11);
  const replacements = ['"', "0", "1", "9", ".", "-", " ", "e", "A", "a", "{", "}", ",", ":", "\\", "x"];
  let read = 0;
  let checked = 0;
  for (const value of producerEnvelopes(12, random)) {
    for (let at = 0; at <= value.length; at++) {
      const variants = [
        value.slice(0, at) + value.slice(at + 1),
        ...replacements.map((text) => value.slice(0, at) + text + value.slice(at + 1)),
        ...replacements.map((text) => value.slice(0, at) + text + value.slice(at)),
      ];
      for (const variant of variants) {
        const general = decodeAnyEnvelope(variant, 0, 42n);
        assert.deepEqual(decodeRecord(variant, 0, 42n), general, variant);
        if (readCanonicalEnvelope(variant, 0, 42n) !== undefined) read++;
        checked++;
      }
    }
  }
  // Most corruptions break the layout; some keep it (a digit for a digit) and must still agree.
  assert.ok(read > 0 && read < checked, `${read} of ${checked} read directly`);
});

Deno.test("readCanonicalEnvelope() steps aside for every other layout and for values to refuse", () => {
  const [value] = producerEnvelopes(1, seededRandom(3));
  const stream = '{"e":"trade","E":1700000000123,"s":"BTCUSDT","t":1,"p":"1.5","q":"2","T":1700000000120,"m":true}';
  const envelope = (fields: string, trade = stream) =>
    `{"schema_version":1,"source":"binance","time_unit":"ms","ingested_at_ms":1700000000200,${fields}"trade":${trade}}`;
  const others = {
    "v2 (producer_id added)": value!.replace('{"schema_version":1,', '{"schema_version":2,"producer_id":"p",'),
    "whitespace": value!.replace('"source":', '"source": '),
    "keys reordered": value!.replace(
      '{"schema_version":1,"source":"binance",',
      '{"source":"binance","schema_version":1,',
    ),
    "an escaped symbol": envelope('"backfilled":false,', stream.replace('"BTCUSDT"', '"BTC\\u0055SDT"')),
    "a stream trade without E": envelope('"backfilled":false,', stream.replace('"E":1700000000123,', "")),
    "a zero price": envelope('"backfilled":false,', stream.replace('"p":"1.5"', '"p":"0.000"')),
    "a trade time after 2100": envelope(
      '"backfilled":false,',
      stream.replace('"T":1700000000120', '"T":4102444800000000'),
    ),
    "an extra trade field": envelope('"backfilled":false,', stream.replace('"m":true}', '"m":true,"X":1}')),
  };
  for (const [what, text] of Object.entries(others)) {
    assert.equal(readCanonicalEnvelope(text, 0, 0n), undefined, what);
    assert.deepEqual(decodeRecord(text, 0, 0n), decodeAnyEnvelope(text, 0, 0n), what);
  }
  assert.ok("row" in decodeRecord(others["v2 (producer_id added)"], 0, 0n));
  assert.deepEqual(decodeRecord(others["a zero price"], 0, 0n), {
    reason: "non_positive_price",
    detail: "p is 0.000",
  });
});
