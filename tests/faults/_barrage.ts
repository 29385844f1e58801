/**
 * The malformed-input barrage: bad frames for the producer's stream and bad records for the consumer's topic, each
 * with the DLQ reason it must get.
 */
import type { DlqReason } from "../../tasks/lib/ingest/trade_event.ts";
import type { RawFrame } from "./_relay.ts";

/** One kind of bad frame. */
export interface BadFrame {
  kind: string;
  frame: RawFrame;
  reason: DlqReason;
}

/** One kind of bad record written straight into crypto.trades.v1; `value` null is a tombstone. */
export interface BadRecord {
  kind: string;
  value: string | Uint8Array | null;
  /** The consumer's DLQ reason. */
  reason: string;
}

const NOW = 1_767_225_600_000; // 2026-01-01, a plausible trade time

/** A trade of `symbol` that would be valid, with `changes` applied (`undefined` removes a field). */
function trade(symbol: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    e: "trade",
    E: NOW,
    s: symbol,
    t: 1,
    p: "100.00000000",
    q: "1.00000000",
    T: NOW,
    m: true,
    M: true,
  };
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) delete base[field];
    else base[field] = value;
  }
  return base;
}

/** A combined-stream frame carrying `data` (already JSON) on `stream`. */
function combined(stream: string, data: string): string {
  return `{"stream":${JSON.stringify(stream)},"data":${data}}`;
}

/** A frame of a `symbol` trade with `changes`, on that symbol's own stream. */
function tradeFrame(symbol: string, changes: Record<string, unknown> = {}): string {
  return combined(`${symbol.toLowerCase()}@trade`, JSON.stringify(trade(symbol, changes)));
}

/**
 * Every kind of bad frame a stream subscribed to `symbol` can receive and the producer can see, each valid in
 * every respect but one. (A text frame that is not UTF-8 is not here: the WebSocket client fails the connection on
 * it, as RFC 6455 requires, so the producer never sees it; see {@link NOT_UTF8_TEXT_FRAME}.)
 */
export function badFrames(symbol: string): BadFrame[] {
  const good = tradeFrame(symbol);
  const text = (kind: string, reason: DlqReason, frame: string): BadFrame => ({ kind, frame: { text: frame }, reason });
  const field = (kind: string, reason: DlqReason, changes: Record<string, unknown>) =>
    text(kind, reason, tradeFrame(symbol, changes));
  const stream = `${symbol.toLowerCase()}@trade`;
  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
  const deepObject = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
  return [
    text("truncated JSON", "malformed_json", good.slice(0, 40)),
    text("single quotes", "malformed_json", good.replaceAll('"', "'")),
    text("trailing comma", "malformed_json", `${good.slice(0, -2)},}}`),
    text("empty frame", "malformed_json", ""),
    text("NaN literal", "malformed_json", good.replace('"100.00000000"', "NaN")),
    text("JSON array", "not_an_object", `[${good}]`),
    text("JSON string", "not_an_object", JSON.stringify(good)),
    text("deeply nested arrays (4,000 levels)", "not_an_object", combined(stream, nested(4000))),
    text(
      "deeply nested object as the price (1,500 levels)",
      "wrong_type",
      combined(
        stream,
        JSON.stringify(trade(symbol)).replace('"100.00000000"', deepObject(1500)),
      ),
    ),
    text("deeply nested arrays (1,000,000 levels)", "oversized", nested(1_000_000)),
    text("huge frame (1 MiB)", "oversized", tradeFrame(symbol, { pad: "x".repeat(2 ** 20) })),
    text("huge frame (8 MiB)", "oversized", tradeFrame(symbol, { pad: "y".repeat(8 * 2 ** 20) })),
    {
      kind: "binary frame, not UTF-8",
      frame: { binary: new Uint8Array([0xc3, 0x28, 0xff, 0xfe, 0x80]) },
      reason: "binary_frame",
    },
    { kind: "binary frame holding a trade", frame: { binary: new TextEncoder().encode(good) }, reason: "binary_frame" },
    field("unknown event", "unknown_event", { e: "aggTrade" }),
    text(
      "prototype key instead of the event",
      "missing_field",
      good.replace('"e":"trade"', '"__proto__":{"e":"trade"}'),
    ),
    field("missing event type", "missing_field", { e: undefined }),
    field("missing trade id", "missing_field", { t: undefined }),
    field("missing event time", "missing_field", { E: undefined }),
    field("null symbol", "wrong_type", { s: null }),
    field("trade id as a string", "wrong_type", { t: "1" }),
    field("trade id beyond 2^53", "wrong_type", { t: 2 ** 63 }),
    field("negative trade id", "wrong_type", { t: -1 }),
    text("trade time beyond double range", "wrong_type", good.replace(`"T":${NOW}`, '"T":1e400')),
    field("trade time in the 22nd century", "wrong_type", { T: 4_200_000_000_000_000 }),
    field("buyer-maker flag as a string", "wrong_type", { m: "true" }),
    text("stream name as a number", "wrong_type", good.replace(`"stream":"${stream}"`, '"stream":42')),
    text("data as a string", "not_an_object", combined(stream, '"trade"')),
    field("price in exponent form", "invalid_decimal", { p: "1e309" }),
    field("negative price", "invalid_decimal", { p: "-5.00000000" }),
    field("price with 14 integer digits", "out_of_range", { p: "12345678901234.5" }),
    field("quantity with 9 decimals", "out_of_range", { q: "0.000000001" }),
    field("zero price", "non_positive_price", { p: "0.00000000" }),
    field("zero quantity", "non_positive_quantity", { q: "0" }),
    text("path-injection symbol ../../x", "invalid_symbol", tradeFrame("../../x")),
    text("path-injection symbol BTC/USDT", "invalid_symbol", tradeFrame("BTC/USDT")),
    text("path-injection symbol ..\\..\\x", "invalid_symbol", tradeFrame("..\\..\\x")),
    text("symbol with a NUL byte", "invalid_symbol", tradeFrame("BTC\u0000USDT")),
    text("symbol of a lone surrogate", "invalid_symbol", good.replace(`"s":"${symbol}"`, '"s":"\\ud800USDT"')),
    text("lower-case symbol", "invalid_symbol", tradeFrame(symbol.toLowerCase())),
    text("symbol not subscribed", "unsubscribed_symbol", tradeFrame("DOGEUSDT")),
    text(
      "trade on another symbol's stream",
      "stream_mismatch",
      combined("dogeusdt@trade", JSON.stringify(trade(symbol))),
    ),
  ];
}

/** A text frame whose bytes are not UTF-8: the WebSocket client must fail the connection (RFC 6455 §8.1). */
export const NOT_UTF8_TEXT_FRAME: RawFrame = {
  textBytes: new Uint8Array([...new TextEncoder().encode('{"e":"trade","s":"'), 0xc3, 0x28, 0xff, 0x22, 0x7d]),
};

/** An envelope as the producer writes it, around `trade` (any JSON). */
function envelope(trade: unknown, changes: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schema_version: 1,
    source: "binance",
    time_unit: "ms",
    ingested_at_ms: NOW,
    backfilled: false,
    trade,
    ...changes,
  });
}

/** Records no producer of ours writes, each for the consumer to refuse. */
export function badRecords(): BadRecord[] {
  return [
    { kind: "tombstone", value: null, reason: "empty_record" },
    { kind: "not JSON", value: "{not json", reason: "malformed_json" },
    {
      kind: "bytes that are not UTF-8",
      value: new Uint8Array([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d]),
      reason: "malformed_json",
    },
    { kind: "JSON array", value: "[1,2,3]", reason: "invalid_envelope" },
    {
      kind: "unknown schema version",
      value: envelope(trade("BTCUSDT"), { schema_version: 99 }),
      reason: "unknown_schema_version",
    },
    {
      kind: "time unit missing",
      value: envelope(trade("BTCUSDT"), { time_unit: undefined }),
      reason: "invalid_envelope",
    },
    {
      kind: "deeply nested trade",
      value: envelope(JSON.parse("[".repeat(2000) + "]".repeat(2000))),
      reason: "invalid_envelope",
    },
    { kind: "path-injection symbol ../../x", value: envelope(trade("../../x")), reason: "invalid_symbol" },
    { kind: "path-injection symbol BTC/USDT", value: envelope(trade("BTC/USDT")), reason: "invalid_symbol" },
    {
      kind: "price beyond DECIMAL(20, 8)",
      value: envelope(trade("BTCUSDT", { p: "1e309" })),
      reason: "invalid_decimal",
    },
    { kind: "trade id beyond 2^53", value: envelope(trade("BTCUSDT", { t: 2 ** 63 })), reason: "wrong_type" },
    { kind: "huge record (900 KB)", value: `{"pad":"${"z".repeat(900_000)}"`, reason: "malformed_json" },
  ];
}

/** Reason → how many times `items` expect it, keys prefixed with `prefix`. */
export function expectedReasons(items: readonly { reason: string }[], prefix = ""): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { reason } of items) counts[`${prefix}${reason}`] = (counts[`${prefix}${reason}`] ?? 0) + 1;
  return counts;
}
