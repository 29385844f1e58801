/**
 * The seeded market generator: a random-walk price and heavy-tailed quantities per symbol, with contiguous trade ids.
 *
 * Pure: the same seed and symbols always give the same sequence of trades; times are passed in by the caller.
 * Prices move in whole ticks and quantities in whole steps, so every value is an exact decimal.
 */
import { multiplyUnits } from "../decimal.ts";
import type { FuturesTradeType, Market as MarketName } from "../market.ts";
import { mulberry32, type Random, randomIndex, randomNormal } from "./prng.ts";
import { futuresSymbolSpec, type SymbolSpec, symbolSpec } from "./symbols.ts";

/** One executed trade; amounts are in units of 10⁻⁸, times in microseconds since the epoch. */
export interface Trade {
  symbol: string;
  id: number;
  price: bigint;
  qty: bigint;
  /** price × qty truncated to 8 decimals (replayed trades keep the file's own value). */
  quoteQty: bigint;
  /** When the trade happened (`T`). */
  timeUs: number;
  /** When the event was emitted (`E`); at or after `timeUs`. */
  eventTimeUs: number;
  isBuyerMaker: boolean;
  /** USDⓈ-M futures only: the trade's `X`. Spot trades have none (their frames carry `M` instead). */
  tradeType?: FuturesTradeType;
}

/** How to build a market. */
export interface MarketOptions {
  symbols: string[];
  seed: number;
  /** The first trade id of every symbol. @default 1_000_000 */
  startId?: number;
  /** `usdm`: futures precision, every trade typed, and a share of non-market trades. @default "spot" */
  market?: MarketName;
  /** USDⓈ-M only: the share of trades that are not order-book trades (`X` ≠ MARKET). @default 0.002 */
  nonMarketRate?: number;
}

/** A running market. */
export interface Market {
  readonly symbols: readonly string[];
  /** The next trade of a symbol chosen at random, happening at `timeUs` and emitted at `eventTimeUs`. */
  next(timeUs: number, eventTimeUs: number): Trade;
}

/** Default first trade id of each symbol. */
export const DEFAULT_START_ID = 1_000_000;

/** Default share of USDⓈ-M trades that are insurance-fund, ADL or unspecified trades. */
export const DEFAULT_NON_MARKET_RATE = 0.002;

/** The `X` of non-market trades, drawn evenly. */
export const NON_MARKET_TRADE_TYPES = ["INSURANCE_FUND", "ADL", "NA"] as const;

/**
 * How far from the market a non-market trade is priced, as a fraction: about 2 %, like the insurance-fund trade of
 * 2023-04-05 00:01 UTC (28722.50 against a high of 28154.20), give or take a tenth of that.
 */
export const NON_MARKET_OFFSET = 0.02;

/** Pareto shape of trade sizes: below 2, so a few trades are very large, as on a real book. */
const SIZE_TAIL = 1.2;
/** Caps the Pareto draw so one trade is at most a million typical trades. */
const MAX_SIZE_FACTOR = 1_000_000;
/** Per-trade price noise, as a fraction of the price (0.3 basis points). */
const MOVE_PER_TRADE = 0.00003;

interface SymbolState {
  spec: SymbolSpec;
  priceTicks: number;
  nextId: number;
}

/**
 * Creates a market whose trades are fully determined by `seed` and `symbols`.
 *
 * @example
 * ```ts
 * const market = createMarket({ symbols: ["BTCUSDT"], seed: 7 });
 * market.next(1_700_000_000_000_000, 1_700_000_000_000_000).id; // 1000000
 * ```
 */
export function createMarket(options: MarketOptions): Market {
  const { symbols, seed, startId = DEFAULT_START_ID, market = "spot" } = options;
  const nonMarketRate = options.nonMarketRate ?? DEFAULT_NON_MARKET_RATE;
  if (symbols.length === 0) throw new RangeError("Cannot create a market: expected at least one symbol");
  if (!(nonMarketRate >= 0 && nonMarketRate <= 1)) {
    throw new RangeError(`Cannot create a market with nonMarketRate ${nonMarketRate}: expected a share from 0 to 1`);
  }
  const futures = market === "usdm";
  const random = mulberry32(seed);
  const states: SymbolState[] = symbols.map((symbol) => {
    const spec = futures ? futuresSymbolSpec(symbol) : symbolSpec(symbol);
    return { spec, priceTicks: Number(spec.startPrice / spec.tickSize), nextId: startId };
  });

  return {
    symbols,
    next(timeUs, eventTimeUs) {
      const state = states[symbols.length === 1 ? 0 : randomIndex(random, symbols.length)]!;
      const { spec } = state;
      // Spot draws nothing extra, so its sequence of trades stays what it always was.
      if (futures && random.next() < nonMarketRate) {
        return { ...nonMarketTrade(state, random), id: state.nextId++, timeUs, eventTimeUs };
      }
      // Noise scales with the price so every symbol moves by similar relative amounts;
      // reflecting at 1 tick keeps the price positive whatever the walk does.
      const move = Math.round(randomNormal(random) * Math.max(1, state.priceTicks * MOVE_PER_TRADE));
      state.priceTicks = Math.max(1, Math.abs(state.priceTicks + move));
      const sizeFactor = Math.min(MAX_SIZE_FACTOR, (1 - random.next()) ** (-1 / SIZE_TAIL));
      const steps = Math.max(1, Math.floor(spec.typicalSteps * sizeFactor * random.next() * 2));
      const price = BigInt(state.priceTicks) * spec.tickSize;
      const qty = BigInt(steps) * spec.stepSize;
      const trade: Trade = {
        symbol: spec.symbol,
        id: state.nextId++,
        price,
        qty,
        quoteQty: multiplyUnits(price, qty),
        timeUs,
        eventTimeUs,
        isBuyerMaker: random.next() < 0.5,
      };
      if (futures) trade.tradeType = "MARKET";
      return trade;
    },
  };
}

/**
 * An insurance-fund, ADL or unspecified trade: about 2 % above or below the market, rounded to the tick, a few
 * steps in size. It leaves the market's own price where it was: it is a transfer, not an order-book trade.
 */
function nonMarketTrade(state: SymbolState, random: Random): Omit<Trade, "id" | "timeUs" | "eventTimeUs"> {
  const { spec } = state;
  const tradeType = NON_MARKET_TRADE_TYPES[randomIndex(random, NON_MARKET_TRADE_TYPES.length)]!;
  const direction = random.next() < 0.5 ? -1 : 1;
  const offset = NON_MARKET_OFFSET * (0.9 + 0.2 * random.next());
  const price = BigInt(Math.max(1, Math.round(state.priceTicks * (1 + direction * offset)))) * spec.tickSize;
  const qty = BigInt(1 + randomIndex(random, 3)) * spec.stepSize;
  return {
    symbol: spec.symbol,
    price,
    qty,
    quoteQty: multiplyUnits(price, qty),
    isBuyerMaker: random.next() < 0.5,
    tradeType,
  };
}

/** Whether a trade is an order-book trade: every spot trade, and the futures trades with `X` = MARKET. */
export function isMarketTrade(trade: Trade): boolean {
  return trade.tradeType === undefined || trade.tradeType === "MARKET";
}

/**
 * The next `count` trades, their times spread evenly over (`fromUs`, `toUs`] and all emitted at `toUs`.
 *
 * Spreading keeps microsecond clients realistic when the timer batches several trades into one tick.
 */
export function nextTrades(market: Market, count: number, fromUs: number, toUs: number): Trade[] {
  const trades: Trade[] = [];
  for (let i = 1; i <= count; i++) {
    trades.push(market.next(fromUs + Math.floor((i * (toUs - fromUs)) / count), toUs));
  }
  return trades;
}

/** How trades are paced: a steady rate plus optional bursts. */
export interface Pace {
  /** Trades per second over all symbols. */
  rate: number;
  burst?: { everySeconds: number; size: number } | undefined;
  /** Total trades never exceeded. */
  maxTrades?: number | undefined;
}

/**
 * How many trades to generate now, `elapsedSeconds` after the start with `generated` already made.
 *
 * Computed from the start rather than per tick, so timer jitter never drifts the long-run rate.
 */
export function tradesDue(pace: Pace, elapsedSeconds: number, generated: number): number {
  const bursts = pace.burst ? Math.floor(elapsedSeconds / pace.burst.everySeconds) * pace.burst.size : 0;
  const target = Math.min(Math.floor(pace.rate * elapsedSeconds) + bursts, pace.maxTrades ?? Infinity);
  return Math.max(0, target - generated);
}
