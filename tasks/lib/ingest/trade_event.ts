/**
 * Validates one frame from the exchange's trade stream: a trade to publish, a control event, or a reason to
 * send it to the dead-letter queue. Pure: no clock, no I/O.
 *
 * Prices and quantities stay the exchange's decimal strings; they are checked, never converted to numbers.
 */
import { FUTURES_TRADE_TYPES, type Market } from "../market.ts";

/** A trade exactly as the exchange sends it on `<symbol>@trade`. */
export interface TradePayload {
  e: "trade";
  /** Event time (ms, or µs with timeUnit=MICROSECOND); absent on trades recovered over REST. */
  E?: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
  /** Spot only: best price match. */
  M?: boolean;
  /** USDⓈ-M futures only: the trade type, MARKET for order-book trades (see FUTURES_TRADE_TYPES). */
  X?: string;
}

/** Why an event went to the dead-letter queue. */
export type DlqReason =
  | "oversized"
  | "binary_frame"
  | "malformed_json"
  | "not_an_object"
  | "unknown_event"
  | "missing_field"
  | "wrong_type"
  | "invalid_symbol"
  | "unsubscribed_symbol"
  | "stream_mismatch"
  | "invalid_decimal"
  | "non_positive_price"
  | "non_positive_quantity"
  | "out_of_range"
  | "wrong_market";

/** Every reason, for counters that must show zeros too. */
export const DLQ_REASONS: readonly DlqReason[] = [
  "oversized",
  "binary_frame",
  "malformed_json",
  "not_an_object",
  "unknown_event",
  "missing_field",
  "wrong_type",
  "invalid_symbol",
  "unsubscribed_symbol",
  "stream_mismatch",
  "invalid_decimal",
  "non_positive_price",
  "non_positive_quantity",
  "out_of_range",
  "wrong_market",
];

/** The outcome of {@link parseTradeFrame}. */
export type FrameResult =
  | { kind: "trade"; trade: TradePayload; /** The payload's JSON text exactly as received, when known. */ raw?: string }
  | { kind: "control"; event: string }
  | { kind: "invalid"; reason: DlqReason; detail: string; symbol?: string };

/** Frames above this are refused before parsing; a trade is about 150 bytes. */
export const MAX_FRAME_BYTES = 16 * 1024;

/** Exchange events that are not trades but are expected on a trade connection. */
const CONTROL_EVENTS = new Set(["serverShutdown"]);

const SYMBOL = /^[A-Z0-9]{2,20}$/;
// The lake stores prices and quantities as DECIMAL(20, 8): at most 12 integer and 8 fraction digits (the exchange
// sends 8), no exponent, no sign. Price × quantity then fits DECIMAL(38, 16) exactly.
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const MAX_INTEGER_DIGITS = 12;
const MAX_FRACTION_DIGITS = 8;
// 2100-01-01 in µs: a trade time beyond this is not a time at all.
const MAX_TIME_US = 4_102_444_800_000_000;

/**
 * Parses and validates one text frame of a raw (`/ws/<s>@trade`) or combined (`/stream?streams=…`) connection.
 *
 * @param frame the frame's text
 * @param subscribed upper-case symbols this connection asked for
 */
export function parseTradeFrame(
  frame: string,
  subscribed: ReadonlySet<string>,
  market: Market = "spot",
): FrameResult {
  if (frame.length > MAX_FRAME_BYTES) {
    return invalid("oversized", `frame of ${frame.length} characters exceeds ${MAX_FRAME_BYTES}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch (error) {
    return invalid("malformed_json", (error as Error).message);
  }
  if (!isObject(parsed)) return invalid("not_an_object", `expected a JSON object, got ${describe(parsed)}`);

  let payload: Record<string, unknown> = parsed;
  let stream: string | undefined;
  let raw: string | undefined = frame;
  if ("stream" in parsed && "data" in parsed) {
    if (typeof parsed.stream !== "string") return invalid("wrong_type", "stream must be a string");
    if (!isObject(parsed.data)) return invalid("not_an_object", `data must be an object, got ${describe(parsed.data)}`);
    stream = parsed.stream;
    payload = parsed.data;
    raw = combinedPayloadText(frame, stream, Object.keys(parsed).length);
  }
  const result = validateTrade(payload, subscribed, { stream, requireEventTime: true, market });
  return result.kind === "trade" && raw !== undefined ? { ...result, raw } : result;
}

/**
 * The `data` text of a combined-stream frame in the exchange's own layout `{"stream":"…","data":{…}}`, so the
 * payload can be kept byte for byte; undefined for any other layout (the parsed payload is re-serialised then).
 */
function combinedPayloadText(frame: string, stream: string, keys: number): string | undefined {
  const prefix = `{"stream":${JSON.stringify(stream)},"data":`;
  if (keys !== 2 || !frame.startsWith(prefix) || !frame.endsWith("}}")) return undefined;
  return frame.slice(prefix.length, -1);
}

/** Where a payload came from. */
export interface TradeOrigin {
  /** The combined-stream name it arrived under. */
  stream?: string | undefined;
  /** Stream trades carry `E`; trades recovered over REST have none. */
  requireEventTime?: boolean;
  /**
   * The market the payload must belong to: spot trades carry `M` and no `X`, USDⓈ-M futures trades the opposite,
   * in ms. Undefined checks neither (a reader of envelopes of any market).
   */
  market?: Market | undefined;
}

/** Validates a trade payload already decoded from JSON; `subscribed` undefined accepts any symbol. */
export function validateTrade(
  payload: Record<string, unknown>,
  subscribed: ReadonlySet<string> | undefined,
  origin: TradeOrigin = {},
): FrameResult {
  const { stream, requireEventTime = false, market } = origin;
  const event = payload.e;
  if (typeof event === "string" && CONTROL_EVENTS.has(event)) return { kind: "control", event };
  if (event === undefined) return invalid("missing_field", "e is missing");
  if (event !== "trade") return invalid("unknown_event", `event type ${JSON.stringify(event)} is not "trade"`);

  const required = requireEventTime ? ["s", "t", "p", "q", "T", "m", "E"] : ["s", "t", "p", "q", "T", "m"];
  for (const field of required) {
    if (payload[field] === undefined) return invalid("missing_field", `${field} is missing`);
    if (payload[field] === null) return invalid("wrong_type", `${field} is null`);
  }
  const { s, t, p, q, T, m, E, M, X } = payload;
  if (typeof s !== "string") return invalid("wrong_type", `s must be a string, got ${describe(s)}`);
  if (!SYMBOL.test(s)) return invalid("invalid_symbol", `symbol ${JSON.stringify(s.slice(0, 64))} is not 2-20 A-Z0-9`);
  const symbol = s;
  const fail = (reason: DlqReason, detail: string): FrameResult => invalid(reason, detail, symbol);

  if (subscribed !== undefined && !subscribed.has(symbol)) {
    return fail("unsubscribed_symbol", `${symbol} was not subscribed`);
  }
  if (stream !== undefined && stream !== `${symbol.toLowerCase()}@trade`) {
    return fail("stream_mismatch", `${symbol} trade arrived on stream ${JSON.stringify(stream.slice(0, 64))}`);
  }
  if (!isId(t)) return fail("wrong_type", `t must be a non-negative whole number, got ${describe(t)}`);
  if (!isTime(T)) return fail("wrong_type", `T must be a time in ms or µs, got ${describe(T)}`);
  if (E !== undefined && !isTime(E)) return fail("wrong_type", `E must be a time in ms or µs, got ${describe(E)}`);
  if (typeof m !== "boolean") return fail("wrong_type", `m must be a boolean, got ${describe(m)}`);
  if (M !== undefined && typeof M !== "boolean") return fail("wrong_type", `M must be a boolean, got ${describe(M)}`);
  const wrongMarket = marketMismatch(market, M, X);
  if (wrongMarket !== undefined) return fail("wrong_market", wrongMarket);
  if (X !== undefined && !(FUTURES_TRADE_TYPES as readonly unknown[]).includes(X)) {
    return fail("wrong_type", `X must be one of ${FUTURES_TRADE_TYPES.join(", ")}, got ${describe(X)}`);
  }
  if (market === "usdm") {
    for (const [field, time] of [["T", T], ["E", E]] as const) {
      if (time !== undefined && timeUnitOf(time as number) === "us") {
        return fail("wrong_type", `${field} must be a time in ms on USDⓈ-M futures, got ${describe(time)}`);
      }
    }
  }

  for (
    const [field, value, nonPositive] of [
      ["p", p, "non_positive_price"],
      ["q", q, "non_positive_quantity"],
    ] as const
  ) {
    if (typeof value !== "string") {
      return fail("wrong_type", `${field} must be a decimal string, got ${describe(value)}`);
    }
    const match = DECIMAL.exec(value);
    if (!match) return fail("invalid_decimal", `${field} ${JSON.stringify(value.slice(0, 64))} is not a plain decimal`);
    const [, whole = "", fraction = ""] = match;
    if (whole.replace(/^0+(?=\d)/, "").length > MAX_INTEGER_DIGITS || fraction.length > MAX_FRACTION_DIGITS) {
      return fail("out_of_range", `${field} ${value.slice(0, 64)} does not fit DECIMAL(20, 8)`);
    }
    if (/^[0.]+$/.test(value)) return fail(nonPositive, `${field} is ${value}`);
  }
  return { kind: "trade", trade: payload as unknown as TradePayload };
}

/**
 * Why a payload belongs to the other market, or undefined. Spot: `X` shows a futures frame (a spot frame without
 * `M` stays accepted, as REST-healed spot trades may lack it). usdm: `M`, or a missing `X`, shows a spot frame.
 */
function marketMismatch(market: Market | undefined, M: unknown, X: unknown): string | undefined {
  if (market === "spot" && X !== undefined) return "X is present: a USDⓈ-M futures trade on a spot connection";
  if (market === "usdm") {
    if (M !== undefined) return "M is present: a spot trade on a USDⓈ-M futures connection";
    if (X === undefined) return "X is missing: not a USDⓈ-M futures trade";
  }
  return undefined;
}

/** `ms` or `us`: the exchange sends µs only when asked, and µs values are 1000× larger. */
export function timeUnitOf(time: number): "ms" | "us" {
  return time >= 100_000_000_000_000 ? "us" : "ms";
}

function invalid(reason: DlqReason, detail: string, symbol?: string): FrameResult {
  return symbol === undefined ? { kind: "invalid", reason, detail } : { kind: "invalid", reason, detail, symbol };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 && value < MAX_TIME_US;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const text = typeof value === "string" ? JSON.stringify(value.slice(0, 32)) : String(value).slice(0, 32);
  return `${typeof value} ${text}`;
}
