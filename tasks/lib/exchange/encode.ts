/** The exact JSON the local exchange sends: WebSocket trade events, combined-stream wrappers and REST trades. */
import { formatUnits } from "../decimal.ts";
import type { Trade } from "./market.ts";

/** Unit of every timestamp in a message: milliseconds unless the client asked for microseconds. */
export type TimeUnit = "ms" | "us";

/** A time in microseconds expressed in `unit` (milliseconds are truncated, as Binance does). */
export function timeIn(unit: TimeUnit, timeUs: number): number {
  return unit === "us" ? timeUs : Math.floor(timeUs / 1000);
}

/**
 * The `<symbol>@trade` payload, keys in Binance's order.
 *
 * Built as a template rather than with JSON.stringify: symbols are validated to `[A-Z0-9]`, so nothing needs
 * escaping, and the key order is guaranteed.
 */
export function tradeEventJson(trade: Trade, unit: TimeUnit): string {
  return `{"e":"trade","E":${timeIn(unit, trade.eventTimeUs)},"s":"${trade.symbol}","t":${trade.id},"p":"${
    formatUnits(trade.price)
  }","q":"${formatUnits(trade.qty)}","T":${timeIn(unit, trade.timeUs)},"m":${trade.isBuyerMaker},"M":true}`;
}

/**
 * The USDⓈ-M `<symbol>@trade` payload, keys in Binance's futures order: `T` right after `E`, the trade type `X`, and
 * no `M` (there is no best-match flag on futures).
 */
export function futuresTradeEventJson(trade: Trade, unit: TimeUnit): string {
  return `{"e":"trade","E":${timeIn(unit, trade.eventTimeUs)},"T":${
    timeIn(unit, trade.timeUs)
  },"s":"${trade.symbol}","t":${trade.id},"p":"${formatUnits(trade.price)}","q":"${formatUnits(trade.qty)}","X":"${
    trade.tradeType ?? "MARKET"
  }","m":${trade.isBuyerMaker}}`;
}

/** The payload of a trade in its market's shape: futures trades (those with a type) as futures, others as spot. */
export function marketTradeEventJson(trade: Trade, unit: TimeUnit): string {
  return trade.tradeType === undefined ? tradeEventJson(trade, unit) : futuresTradeEventJson(trade, unit);
}

/** The stream name of a symbol's trades, e.g. `btcusdt@trade`. */
export function tradeStreamName(symbol: string): string {
  return `${symbol.toLowerCase()}@trade`;
}

/** Wraps a payload for a combined-stream connection: `{"stream":…,"data":…}`. */
export function wrapCombined(stream: string, payloadJson: string): string {
  return `{"stream":${JSON.stringify(stream)},"data":${payloadJson}}`;
}

/**
 * The notice sent shortly before the server cuts a connection at its maximum age.
 *
 * It is sent bare on raw and combined connections alike: it concerns the connection, not a stream, so there is no
 * stream name to wrap it with. Clients must therefore accept an unwrapped `{"e":…}` object on combined streams.
 */
export function serverShutdownJson(unit: TimeUnit, nowUs: number): string {
  return `{"e":"serverShutdown","E":${timeIn(unit, nowUs)}}`;
}

/** One row of `GET /api/v3/trades` and `GET /api/v3/historicalTrades`. */
export interface RestTrade {
  id: number;
  price: string;
  qty: string;
  quoteQty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch: true;
}

/** A trade as the REST API shows it. */
export function restTrade(trade: Trade, unit: TimeUnit): RestTrade {
  return { ...futuresRestTrade(trade, unit), isBestMatch: true };
}

/** One row of `GET /fapi/v1/trades` and `GET /fapi/v1/historicalTrades`: as spot's, without `isBestMatch`. */
export type FuturesRestTrade = Omit<RestTrade, "isBestMatch">;

/** A futures trade as the REST API shows it. */
export function futuresRestTrade(trade: Trade, unit: TimeUnit): FuturesRestTrade {
  return {
    id: trade.id,
    price: formatUnits(trade.price),
    qty: formatUnits(trade.qty),
    quoteQty: formatUnits(trade.quoteQty),
    time: timeIn(unit, trade.timeUs),
    isBuyerMaker: trade.isBuyerMaker,
  };
}
