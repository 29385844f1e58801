/**
 * The USDⓈ-M futures REST market-data endpoints (`/fapi/v1/…`), as a plain `Request → Response` function.
 *
 * The histories hold only MARKET trades: Binance's futures trade lists (and its archive) leave out the
 * insurance-fund, ADL and unspecified trades the live stream shows, so their ids skip those
 * (binance-public-data #363), and its futures klines count only MARKET trades. `historicalTrades` needs an API key
 * in `X-MBX-APIKEY` (any non-empty value here; it is never checked against anything, logged or echoed).
 */
import { type AggTrade, aggTradeJson } from "./agg_trades.ts";
import { futuresRestTrade, type TimeUnit } from "./encode.ts";
import type { TradeHistory } from "./history.ts";
import { buildFuturesKlines } from "./klines.ts";
import {
  BadRequest,
  DEFAULT_LIMIT,
  json,
  klinesOf,
  MAX_LIMIT,
  optionalInteger,
  requiredSymbol,
  type RestContext,
  weighed,
} from "./rest.ts";

/** What the futures endpoints read and count. */
export interface FuturesRestContext extends RestContext {
  /** MARKET trades only, per symbol. */
  histories: ReadonlyMap<string, TradeHistory>;
  aggregates: ReadonlyMap<string, TradeHistory<AggTrade>>;
}

/** Request weight of each endpoint but klines (Binance USDⓈ-M, 2025). */
export const FUTURES_ENDPOINT_WEIGHTS: Readonly<Record<string, number>> = {
  "/fapi/v1/trades": 5,
  "/fapi/v1/historicalTrades": 20,
  "/fapi/v1/aggTrades": 20,
};

/** Futures klines may ask for more rows than trade lists. */
export const MAX_KLINE_LIMIT = 1500;

/** Most time one aggTrades request may span with both startTime and endTime. */
const MAX_AGG_SPAN_MS = 3_600_000;

/** The weight of a futures klines request grows with its limit, as Binance charges it. */
export function futuresKlineWeight(limit: number): number {
  if (limit < 100) return 1;
  if (limit < 500) return 2;
  if (limit <= 1000) return 5;
  return 10;
}

/** Answers one `/fapi/v1/…` request. */
export function handleFuturesRest(request: Request, context: FuturesRestContext): Response {
  const url = new URL(request.url);
  const klines = url.pathname === "/fapi/v1/klines";
  if (!klines && FUTURES_ENDPOINT_WEIGHTS[url.pathname] === undefined) {
    return json(404, { code: -1000, msg: `Unknown endpoint ${url.pathname}.` });
  }
  if (request.method !== "GET") return json(405, { code: -1000, msg: `Method ${request.method} is not allowed.` });
  if (url.pathname === "/fapi/v1/historicalTrades" && (request.headers.get("X-MBX-APIKEY") ?? "").trim() === "") {
    context.counters.requests++;
    return json(401, { code: -2014, msg: "API-key format invalid." });
  }
  const params = url.searchParams;
  let weight = FUTURES_ENDPOINT_WEIGHTS[url.pathname]!;
  if (klines) {
    const raw = params.get("limit");
    weight = futuresKlineWeight(raw !== null && /^\d{1,6}$/.test(raw) ? Number(raw) : DEFAULT_LIMIT);
  }
  return weighed(request, context, weight, (unit) => answer(url.pathname, params, context, unit));
}

function answer(path: string, params: URLSearchParams, context: FuturesRestContext, unit: TimeUnit): unknown {
  const symbol = requiredSymbol(params);
  const history = context.histories.get(symbol);
  if (history === undefined) throw new BadRequest(-1121, "Invalid symbol.");
  if (path === "/fapi/v1/klines") {
    const limit = optionalInteger(params, "limit", 1, MAX_KLINE_LIMIT) ?? DEFAULT_LIMIT;
    return klinesOf(params, history, limit, unit, buildFuturesKlines);
  }
  const limit = optionalInteger(params, "limit", 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const fromId = optionalInteger(params, "fromId", 0, Number.MAX_SAFE_INTEGER);
  switch (path) {
    case "/fapi/v1/trades":
      return history.latest(limit).map((trade) => futuresRestTrade(trade, unit));
    case "/fapi/v1/historicalTrades": {
      const trades = fromId === undefined ? history.latest(limit) : history.fromId(fromId, limit);
      return trades.map((trade) => futuresRestTrade(trade, unit));
    }
    default:
      return aggTrades(context.aggregates.get(symbol)!, params, fromId, limit).map((a) => aggTradeJson(a, unit));
  }
}

/** Aggregates from `fromId` on, or within [startTime, endTime], or the most recent ones; at most `limit`. */
function aggTrades(
  history: TradeHistory<AggTrade>,
  params: URLSearchParams,
  fromId: number | undefined,
  limit: number,
): AggTrade[] {
  const startMs = optionalInteger(params, "startTime", 0, Number.MAX_SAFE_INTEGER);
  const endMs = optionalInteger(params, "endTime", 0, Number.MAX_SAFE_INTEGER);
  if (startMs !== undefined && endMs !== undefined && endMs - startMs > MAX_AGG_SPAN_MS) {
    throw new BadRequest(-1127, "More than 1 hours between startTime and endTime.");
  }
  const inTime = (aggregate: AggTrade) => {
    const ms = Math.floor(aggregate.timeUs / 1000);
    return (startMs === undefined || ms >= startMs) && (endMs === undefined || ms <= endMs);
  };
  if (fromId !== undefined) return history.fromId(fromId, limit).filter(inTime);
  if (startMs === undefined && endMs === undefined) return history.latest(limit);
  const fromUs = (startMs ?? 0) * 1000;
  const toUs = endMs === undefined ? Number.MAX_SAFE_INTEGER : endMs * 1000 + 999;
  const found = history.betweenTimes(fromUs, toUs);
  return startMs === undefined ? found.slice(-limit) : found.slice(0, limit);
}
