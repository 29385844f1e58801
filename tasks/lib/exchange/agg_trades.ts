/**
 * Aggregate trades (`/fapi/v1/aggTrades`): runs of consecutive MARKET trades of one price, side and millisecond, as
 * Binance aggregates them, each with its own id `a` and the first and last trade ids `f`..`l` it covers. Pure.
 *
 * A run also breaks at a non-market trade: ids `f`..`l` are then exactly the market trades summed, so a client that
 * sums aggregates over a minute gets the same volume as the futures kline.
 */
import { formatUnits } from "../decimal.ts";
import { timeIn, type TimeUnit } from "./encode.ts";
import type { Trade } from "./market.ts";

/** One aggregate, amounts in units of 10⁻⁸; `id` is `a`, `timeUs` the time of its trades. */
export interface AggTrade {
  id: number;
  symbol: string;
  price: bigint;
  qty: bigint;
  firstId: number;
  lastId: number;
  timeUs: number;
  isBuyerMaker: boolean;
}

/** One row of `GET /fapi/v1/aggTrades`. */
export interface AggTradeJson {
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
}

/**
 * Folds `trade` (a market trade, the next in id order) into the aggregates: it extends `last` when it directly
 * follows it with the same price, side and millisecond (then `last` is changed in place and `undefined` returned),
 * else it starts a new aggregate with id `nextId`, returned.
 */
export function aggregate(last: AggTrade | undefined, trade: Trade, nextId: number): AggTrade | undefined {
  if (
    last !== undefined && trade.id === last.lastId + 1 && trade.price === last.price &&
    trade.isBuyerMaker === last.isBuyerMaker && Math.floor(trade.timeUs / 1000) === Math.floor(last.timeUs / 1000)
  ) {
    last.qty += trade.qty;
    last.lastId = trade.id;
    return undefined;
  }
  return {
    id: nextId,
    symbol: trade.symbol,
    price: trade.price,
    qty: trade.qty,
    firstId: trade.id,
    lastId: trade.id,
    timeUs: trade.timeUs,
    isBuyerMaker: trade.isBuyerMaker,
  };
}

/** The aggregates of market trades given in id order, ids from `firstAggId` on. */
export function aggregateTrades(trades: Iterable<Trade>, firstAggId: number): AggTrade[] {
  const aggregates: AggTrade[] = [];
  for (const trade of trades) {
    const started = aggregate(aggregates.at(-1), trade, firstAggId + aggregates.length);
    if (started !== undefined) aggregates.push(started);
  }
  return aggregates;
}

/** An aggregate as the REST API shows it. */
export function aggTradeJson(aggregate: AggTrade, unit: TimeUnit): AggTradeJson {
  return {
    a: aggregate.id,
    p: formatUnits(aggregate.price),
    q: formatUnits(aggregate.qty),
    f: aggregate.firstId,
    l: aggregate.lastId,
    T: timeIn(unit, aggregate.timeUs),
    m: aggregate.isBuyerMaker,
  };
}
