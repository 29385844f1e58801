/**
 * Kline comparison: one minute of our candles against the exchange's kline for it, field by field and exactly, as
 * pure functions. reconcile.ts runs it over the due minutes; it lives apart so the verdict rules can be read and
 * tested without a database or a network.
 */
import { DECIMALS, formatUnits, parseUnits } from "../decimal.ts";
import { MINUTE_MS } from "./kline_plan.ts";

/** The fields compared, named as the columns of fct_candles_1m, in the order they are reported. */
export const COMPARED_FIELDS = [
  "open",
  "high",
  "low",
  "close",
  "volume",
  "quote_volume",
  "trade_count",
  "taker_buy_volume",
  "taker_buy_quote_volume",
] as const;
export type ComparedField = typeof COMPARED_FIELDS[number];

/** Fields that add up over trades: what a side without trades still has (zero), unlike prices. */
export const ADDITIVE_FIELDS: readonly ComparedField[] = [
  "volume",
  "quote_volume",
  "trade_count",
  "taker_buy_volume",
  "taker_buy_quote_volume",
];

/** One minute's nine values on one side; decimals in units of 10⁻⁸. */
export type MinuteValues = { [F in ComparedField]: F extends "trade_count" ? number : bigint };

/** What a check concluded. */
export type Status = "match" | "mismatch" | "missing_candle" | "missing_kline";
export const STATUSES: readonly Status[] = ["match", "mismatch", "missing_candle", "missing_kline"];

/** One differing field: both values and ours − exchange, as decimal strings (trade_count as numbers). */
export interface FieldDifference {
  ours: string | number;
  exchange: string | number;
  difference: string | number;
}

/** The verdict on one minute. */
export interface MinuteCheck {
  status: Status;
  mismatchedFields: ComparedField[];
  differences: Partial<Record<ComparedField, FieldDifference>>;
}

// ---- parsing ---------------------------------------------------------------------------------------------------

/** A kline of `GET /api/v3/klines`, with its open time in ms. */
export interface Kline {
  openTimeMs: number;
  values: MinuteValues;
}

/**
 * Parses one kline array `[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBuyBase,
 * takerBuyQuote, ignore]` exactly: decimals become units, never floats.
 *
 * @throws {TypeError} When it is not a 1-minute kline array of that shape.
 * @throws {SyntaxError} When a decimal is not digits with at most 8 decimals.
 */
export function parseKline(row: unknown): Kline {
  if (!Array.isArray(row) || row.length < 11) {
    throw new TypeError(`Cannot parse kline: expected an array of 12 fields, got ${JSON.stringify(row)}`);
  }
  const [openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBuyBase, takerBuyQuote] = row;
  if (!Number.isSafeInteger(openTime) || closeTime !== openTime + MINUTE_MS - 1) {
    throw new TypeError(`Cannot parse kline: expected a 1m open and close time in ms, got ${openTime}, ${closeTime}`);
  }
  if (!Number.isSafeInteger(trades) || trades < 0) {
    throw new TypeError(`Cannot parse kline: expected a whole number of trades, got ${JSON.stringify(trades)}`);
  }
  return {
    openTimeMs: openTime,
    values: {
      open: exchangeUnits(open),
      high: exchangeUnits(high),
      low: exchangeUnits(low),
      close: exchangeUnits(close),
      volume: exchangeUnits(volume),
      quote_volume: exchangeUnits(quoteVolume),
      trade_count: trades,
      taker_buy_volume: exchangeUnits(takerBuyBase),
      taker_buy_quote_volume: exchangeUnits(takerBuyQuote),
    },
  };
}

/**
 * Our candle's values, from DuckDB's text form of its DECIMALs: quote volumes truncated to 8 decimals the way the
 * exchange truncates each trade's quoteQty, every other field exact.
 *
 * Why quote volumes (quote_volume, taker_buy_quote_volume) are truncated: the exchange shows 8 decimals, our candles
 * hold the exact Σ price × qty with 16. REFERENCE.md §2 only says "Σ price·qty"; the local exchange
 * (exchange/klines.ts) sums each trade's quoteQty, which is price × qty truncated toward zero to 8 decimals
 * (decimal.ts `multiplyUnits`). So ours is truncated to 8 decimals too and then compared exactly, like every other
 * field. That is exact whenever each trade's price × qty fits in 8 decimals (tick × step ≥ 10⁻⁸: every generated
 * trade, BTCUSDT, ETHUSDT…). For a pair whose products need more decimals, truncating each trade can leave the
 * exchange's sum up to trade_count × 10⁻⁸ below ours: such a minute shows as a quote volume mismatch with a small
 * positive difference, which says what happened rather than hiding it behind a tolerance.
 *
 * @throws {RangeError} When a price or base volume has non-zero digits past 8 decimals (it cannot match exactly).
 */
export function candleValues(row: Readonly<Record<ComparedField, string>>): MinuteValues {
  const count = Number(row.trade_count);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`Cannot compare trade_count "${row.trade_count}": expected a whole number`);
  }
  return {
    open: ourUnits(row.open, "exact"),
    high: ourUnits(row.high, "exact"),
    low: ourUnits(row.low, "exact"),
    close: ourUnits(row.close, "exact"),
    volume: ourUnits(row.volume, "exact"),
    quote_volume: ourUnits(row.quote_volume, "truncate"),
    trade_count: count,
    taker_buy_volume: ourUnits(row.taker_buy_volume, "exact"),
    taker_buy_quote_volume: ourUnits(row.taker_buy_quote_volume, "truncate"),
  };
}

function exchangeUnits(value: unknown): bigint {
  if (typeof value !== "string") throw new TypeError(`Cannot parse kline: expected a decimal string, got ${value}`);
  return parseUnits(value);
}

/** A plain decimal of any length as units of 10⁻⁸; "truncate" drops further digits toward zero. */
export function ourUnits(text: string, rounding: "exact" | "truncate"): bigint {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!match) throw new SyntaxError(`Cannot parse decimal: expected digits with an optional point, got "${text}"`);
  const fraction = match[2] ?? "";
  if (rounding === "exact" && /[1-9]/.test(fraction.slice(DECIMALS))) {
    throw new RangeError(`Cannot compare ${text} exactly: it has more than ${DECIMALS} decimals`);
  }
  return parseUnits(`${match[1]}.${fraction.slice(0, DECIMALS)}`);
}

// ---- comparing -------------------------------------------------------------------------------------------------

const NO_TRADES: MinuteValues = {
  open: 0n,
  high: 0n,
  low: 0n,
  close: 0n,
  volume: 0n,
  quote_volume: 0n,
  trade_count: 0,
  taker_buy_volume: 0n,
  taker_buy_quote_volume: 0n,
};

/**
 * Compares one minute. A side without trades (no candle; no kline, or Binance's flat zero-trade kline) has no
 * prices, so when only one side traded the status is missing_candle or missing_kline and only the additive fields
 * are reported, the silent side counting as zero. Neither side trading is a match.
 *
 * @example
 * ```ts
 * compareMinute(undefined, undefined).status; // "match"
 * ```
 */
export function compareMinute(ours: MinuteValues | undefined, exchange: MinuteValues | undefined): MinuteCheck {
  const oursTraded = (ours?.trade_count ?? 0) > 0;
  const exchangeTraded = (exchange?.trade_count ?? 0) > 0;
  if (!oursTraded && !exchangeTraded) return { status: "match", mismatchedFields: [], differences: {} };
  const fields = oursTraded && exchangeTraded ? COMPARED_FIELDS : ADDITIVE_FIELDS;
  const left = oursTraded ? ours! : NO_TRADES;
  const right = exchangeTraded ? exchange! : NO_TRADES;
  const differences: Partial<Record<ComparedField, FieldDifference>> = {};
  for (const field of fields) {
    const a = left[field];
    const b = right[field];
    if (a === b) continue;
    differences[field] = typeof a === "number"
      ? { ours: a, exchange: b as number, difference: a - (b as number) }
      : { ours: formatUnits(a), exchange: formatUnits(b as bigint), difference: formatUnits(a - (b as bigint)) };
  }
  const mismatchedFields = COMPARED_FIELDS.filter((field) => field in differences);
  const status: Status = !oursTraded
    ? "missing_candle"
    : !exchangeTraded
    ? "missing_kline"
    : mismatchedFields.length > 0
    ? "mismatch"
    : "match";
  return { status, mismatchedFields, differences };
}

// ---- counting --------------------------------------------------------------------------------------------------

/** How many verdicts of each status a run gave. */
export function countStatuses(results: readonly Pick<MinuteCheck, "status">[]): Record<Status, number> {
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<Status, number>;
  for (const result of results) counts[result.status]++;
  return counts;
}
