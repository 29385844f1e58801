/**
 * The REST market-data endpoints, as a plain `Request → Response` function over the trade histories.
 *
 * Serves `/api/v3/trades`, `/api/v3/historicalTrades` and `/api/v3/klines` with Binance's field names, decimal
 * strings, request weights and error codes. quoteQty is price × qty truncated to 8 decimals; Binance shows 8
 * decimals too, and every generated trade's product is exact at 8 decimals (tick × step ≥ 10⁻⁸), so truncation
 * only ever matters for replayed files, which keep their own quote_qty anyway.
 */
import { restTrade, type TimeUnit } from "./encode.ts";
import type { TradeHistory } from "./history.ts";
import { buildKlines, KLINE_INTERVALS_MS, klineWindow } from "./klines.ts";
import type { WeightLimiter } from "./weight.ts";

/** What the endpoints read and count. */
export interface RestContext {
  histories: ReadonlyMap<string, TradeHistory>;
  limiter: WeightLimiter;
  /** The clock, in milliseconds, for the weight window. */
  nowMs(): number;
  counters: { requests: number; throttled: number };
}

/** Request weight of each endpoint (Binance spot, 2025). */
export const ENDPOINT_WEIGHTS: Readonly<Record<string, number>> = {
  "/api/v3/trades": 25,
  "/api/v3/historicalTrades": 25,
  "/api/v3/klines": 2,
};

/** Most rows one request returns, and the default. */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 500;

/** A request the client must fix: answered with HTTP 400 and Binance's `{"code","msg"}`. */
export class BadRequest extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Answers one REST request. */
export function handleRest(request: Request, context: RestContext): Response {
  const url = new URL(request.url);
  const weight = ENDPOINT_WEIGHTS[url.pathname];
  if (weight === undefined) return json(404, { code: -1000, msg: `Unknown endpoint ${url.pathname}.` });
  if (request.method !== "GET") return json(405, { code: -1000, msg: `Method ${request.method} is not allowed.` });
  return weighed(request, context, weight, (unit) => answer(url, context.histories, unit));
}

/**
 * Counts the request, charges its weight (429 with Retry-After once the minute's budget is spent) and answers
 * with `body`, in the time unit `X-MBX-TIME-UNIT` asks; a {@link BadRequest} becomes HTTP 400.
 */
export function weighed(
  request: Request,
  context: Pick<RestContext, "limiter" | "nowMs" | "counters">,
  weight: number,
  body: (unit: TimeUnit) => unknown,
): Response {
  context.counters.requests++;
  const decision = context.limiter.take(weight, context.nowMs());
  const headers = { "X-MBX-USED-WEIGHT-1M": String(decision.used) };
  if (!decision.allowed) {
    context.counters.throttled++;
    return json(429, {
      code: -1003,
      msg: `Too much request weight used; current limit is ${context.limiter.limit} request weight per 1 MINUTE. ` +
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    }, { ...headers, "Retry-After": String(decision.retryAfterSeconds) });
  }
  try {
    const unit: TimeUnit = request.headers.get("X-MBX-TIME-UNIT")?.toUpperCase() === "MICROSECOND" ? "us" : "ms";
    return json(200, body(unit), headers);
  } catch (error) {
    if (error instanceof BadRequest) return json(400, { code: error.code, msg: error.message }, headers);
    throw error;
  }
}

function answer(url: URL, histories: ReadonlyMap<string, TradeHistory>, unit: TimeUnit): unknown {
  const params = url.searchParams;
  const history = histories.get(requiredSymbol(params));
  if (history === undefined) throw new BadRequest(-1121, "Invalid symbol.");
  const limit = optionalInteger(params, "limit", 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  switch (url.pathname) {
    case "/api/v3/trades":
      return history.latest(limit).map((trade) => restTrade(trade, unit));
    case "/api/v3/historicalTrades": {
      const fromId = optionalInteger(params, "fromId", 0, Number.MAX_SAFE_INTEGER);
      const trades = fromId === undefined ? history.latest(limit) : history.fromId(fromId, limit);
      return trades.map((trade) => restTrade(trade, unit));
    }
    default:
      return klinesOf(params, history, limit, unit);
  }
}

/** The klines a `klines` request asks for, computed by `build` from the trades `history` keeps. */
export function klinesOf(
  params: URLSearchParams,
  history: TradeHistory,
  limit: number,
  unit: TimeUnit,
  build: typeof buildKlines = buildKlines,
): unknown {
  const intervalMs = KLINE_INTERVALS_MS[params.get("interval") ?? ""];
  if (intervalMs === undefined) throw new BadRequest(-1120, "Invalid interval.");
  const query = {
    intervalMs,
    limit,
    startTimeMs: optionalInteger(params, "startTime", 0, Number.MAX_SAFE_INTEGER),
    endTimeMs: optionalInteger(params, "endTime", 0, Number.MAX_SAFE_INTEGER),
  };
  const newest = history.at(history.size - 1);
  const window = klineWindow(query, newest && Math.floor(newest.timeUs / 1000));
  if (window === undefined) return [];
  const trades = history.betweenTimes(window.firstOpenMs * 1000, (window.lastOpenMs + intervalMs) * 1000 - 1);
  return build(trades, intervalMs, unit);
}

/** The `symbol` parameter, checked as Binance checks it. */
export function requiredSymbol(params: URLSearchParams): string {
  const symbol = params.get("symbol") ?? "";
  if (!/^[A-Z0-9]{1,20}$/.test(symbol)) {
    throw new BadRequest(
      -1100,
      symbol === ""
        ? "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
        : "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
    );
  }
  return symbol;
}

/** A whole-number parameter from `min` to `max`, if sent. */
export function optionalInteger(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const text = params.get(name);
  if (text === null) return undefined;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new BadRequest(
      -1100,
      `Illegal value for parameter '${name}': expected a whole number from ${min} to ${max}.`,
    );
  }
  return value;
}

/** A JSON answer. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json;charset=UTF-8", ...headers },
  });
}
