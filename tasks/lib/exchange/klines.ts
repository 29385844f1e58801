/**
 * Klines (candlesticks) computed exactly from trades, in the array shape of `GET /api/v3/klines`.
 *
 * Sums are bigint units, so volumes are exact. The quote volume sums each trade's quoteQty (the value REST trades
 * show), so a client can rebuild a kline from `/api/v3/historicalTrades` and get the very same strings.
 */
import { formatUnits } from "../decimal.ts";
import type { TimeUnit } from "./encode.ts";
import { isMarketTrade, type Trade } from "./market.ts";

/** `[openTime, open, high, low, close, volume, closeTime, quoteVolume, count, takerBuyBase, takerBuyQuote, "0"]` */
export type KlineRow = [number, string, string, string, string, string, number, string, number, string, string, "0"];

/** Kline intervals the exchange serves, in milliseconds. */
export const KLINE_INTERVALS_MS: Readonly<Record<string, number>> = { "1m": 60_000 };

/** What the request asked for; times in milliseconds. */
export interface KlineQuery {
  intervalMs: number;
  limit: number;
  startTimeMs?: number | undefined;
  endTimeMs?: number | undefined;
}

/** The open times of the first and last kline to return, in milliseconds. */
export interface KlineWindow {
  firstOpenMs: number;
  lastOpenMs: number;
}

/**
 * Which klines a query selects, as Binance does: open times at or after `startTime` and at or before `endTime`, at
 * most `limit` of them, and the most recent ones (up to the latest trade) when no start is given.
 *
 * @returns `undefined` when the window is empty or there is no trade yet.
 */
export function klineWindow(query: KlineQuery, latestTradeMs: number | undefined): KlineWindow | undefined {
  const { intervalMs, limit, startTimeMs, endTimeMs } = query;
  const span = (limit - 1) * intervalMs;
  let firstOpenMs: number;
  let lastOpenMs: number;
  if (startTimeMs !== undefined) {
    firstOpenMs = Math.ceil(startTimeMs / intervalMs) * intervalMs;
    lastOpenMs = firstOpenMs + span;
    if (endTimeMs !== undefined) lastOpenMs = Math.min(lastOpenMs, Math.floor(endTimeMs / intervalMs) * intervalMs);
  } else {
    const end = endTimeMs ?? latestTradeMs;
    if (end === undefined) return undefined;
    lastOpenMs = Math.floor(end / intervalMs) * intervalMs;
    firstOpenMs = lastOpenMs - span;
  }
  return firstOpenMs <= lastOpenMs ? { firstOpenMs, lastOpenMs } : undefined;
}

interface Candle {
  openMs: number;
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
  volume: bigint;
  quoteVolume: bigint;
  count: number;
  takerBuyBase: bigint;
  takerBuyQuote: bigint;
}

/**
 * One kline per interval from the first to the last interval holding a trade, trades taken in the given (id) order.
 *
 * An interval without trades between two busy ones gets a flat kline at the previous close with zero volume, as
 * Binance shows it; intervals before the first trade are left out because their price is unknown here.
 */
export function buildKlines(trades: readonly Trade[], intervalMs: number, unit: TimeUnit): KlineRow[] {
  const candles: Candle[] = [];
  const intervalUs = intervalMs * 1000;
  for (const trade of trades) {
    const openMs = Math.floor(trade.timeUs / intervalUs) * intervalMs;
    let candle = candles.at(-1);
    if (candle === undefined || candle.openMs !== openMs) {
      for (let gapMs = (candle?.openMs ?? openMs) + intervalMs; gapMs < openMs; gapMs += intervalMs) {
        candles.push(flatCandle(gapMs, candle!.close));
      }
      candle = flatCandle(openMs, trade.price);
      candles.push(candle);
    }
    if (trade.price > candle.high) candle.high = trade.price;
    if (trade.price < candle.low) candle.low = trade.price;
    candle.close = trade.price;
    candle.volume += trade.qty;
    candle.quoteVolume += trade.quoteQty;
    candle.count++;
    if (!trade.isBuyerMaker) {
      candle.takerBuyBase += trade.qty;
      candle.takerBuyQuote += trade.quoteQty;
    }
  }
  return candles.map((candle) => klineRow(candle, intervalMs, unit));
}

/**
 * The USDⓈ-M futures klines of `trades` (all the exchange made, in id order): Binance counts only `X` = MARKET trades,
 * so an insurance-fund, ADL or unspecified trade moves neither open, high, low, close, volume nor count (checked on
 * real data, minute 2023-04-05 00:01 UTC). A minute holding only such trades is a flat kline at the previous close.
 */
export function buildFuturesKlines(trades: readonly Trade[], intervalMs: number, unit: TimeUnit): KlineRow[] {
  return buildKlines(trades.filter(isMarketTrade), intervalMs, unit);
}

function flatCandle(openMs: number, price: bigint): Candle {
  return {
    openMs,
    open: price,
    high: price,
    low: price,
    close: price,
    volume: 0n,
    quoteVolume: 0n,
    count: 0,
    takerBuyBase: 0n,
    takerBuyQuote: 0n,
  };
}

function klineRow(candle: Candle, intervalMs: number, unit: TimeUnit): KlineRow {
  const scale = unit === "us" ? 1000 : 1;
  return [
    candle.openMs * scale,
    formatUnits(candle.open),
    formatUnits(candle.high),
    formatUnits(candle.low),
    formatUnits(candle.close),
    formatUnits(candle.volume),
    (candle.openMs + intervalMs) * scale - 1,
    formatUnits(candle.quoteVolume),
    candle.count,
    formatUnits(candle.takerBuyBase),
    formatUnits(candle.takerBuyQuote),
    "0",
  ];
}
