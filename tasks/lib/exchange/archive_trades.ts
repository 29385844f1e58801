/**
 * The trades of the archive's generated days, pure and deterministic, so tests can compare a lake with exactly what
 * the archive serves.
 *
 * Each (symbol, day) has its own market seeded from (seed, symbol, day), so any day can be made on its own, without
 * the days before it. Ids run on across days: day k of the range starts at `startId + k × tradesPerDay`. Times are
 * spread evenly over the UTC day, strictly inside it, in the day file's unit (so a millisecond day's trades are whole
 * milliseconds, as a reader of the file sees them).
 *
 * USDⓈ-M: the day's market also makes non-market trades; they take ids (the live stream would show them) but the
 * file leaves them out, as Binance's futures archive does, so the file's ids skip theirs.
 */
import { archiveTimeUnit, type ArchiveTimeUnitSetting, DAY_US, daysBetween, dayStartUs } from "./archive_paths.ts";
import type { Market } from "../market.ts";
import { buildKlines, type KlineRow } from "./klines.ts";
import { createMarket, isMarketTrade, type Trade } from "./market.ts";
import { deriveSeed } from "./prng.ts";

/** Which days the archive generates, and how many trades each has per symbol. */
export interface ArchiveGeneration {
  /** First day, `YYYY-MM-DD`. */
  from: string;
  /** Last day, included. */
  to: string;
  tradesPerDay: number;
}

/** What the generated trades depend on (a subset of the resolved exchange options). */
export interface ArchiveTradeOptions {
  seed: number;
  startId: number;
  archive: ArchiveGeneration | undefined;
  archiveTimeUnit: ArchiveTimeUnitSetting;
  /** @default "spot" */
  market?: Market;
  /** USDⓈ-M only. @default 0.002 */
  nonMarketRate?: number;
}

/**
 * Every trade of `symbol` on `day` as the archive's generated file holds them, in id order, made lazily: on USDⓈ-M
 * only the MARKET ones (see {@link archiveMadeTrades} for all).
 *
 * @example
 * ```ts
 * const options = { seed: 1, startId: 1, archiveTimeUnit: "auto", archive: { from: "2024-08-01", to: "2024-08-02", tradesPerDay: 3 } } as const;
 * [...archiveTrades(options, "BTCUSDT", "2024-08-02")].map((trade) => trade.id); // [4, 5, 6]
 * ```
 * @throws {RangeError} When there is no archive, or the day is outside it.
 */
export function* archiveTrades(options: ArchiveTradeOptions, symbol: string, day: string): Generator<Trade> {
  for (const trade of archiveMadeTrades(options, symbol, day)) if (isMarketTrade(trade)) yield trade;
}

/**
 * Every trade the generated market made for `symbol` on `day`, the file's and (USDⓈ-M) the non-market ones it
 * leaves out, in id order: ids are contiguous, `tradesPerDay` of them.
 *
 * @throws {RangeError} When there is no archive, or the day is outside it.
 */
export function* archiveMadeTrades(options: ArchiveTradeOptions, symbol: string, day: string): Generator<Trade> {
  const { archive } = options;
  const days = archive ? daysBetween(archive.from, archive.to) : [];
  const index = days.indexOf(day);
  if (archive === undefined || index < 0) {
    const range = archive ? `${archive.from} to ${archive.to}` : "no generated days";
    throw new RangeError(`Cannot generate archive trades of ${symbol} on ${day}: the archive holds ${range}`);
  }
  const { tradesPerDay } = archive;
  const dayNumber = Math.round(dayStartUs(day) / DAY_US);
  const market = createMarket({
    symbols: [symbol],
    seed: deriveSeed(deriveSeed(options.seed, symbolNumber(symbol)), dayNumber),
    startId: options.startId + index * tradesPerDay,
    market: options.market ?? "spot",
    nonMarketRate: options.nonMarketRate,
  });
  const startUs = dayStartUs(day);
  const stepUs = DAY_US / tradesPerDay;
  const wholeMs = archiveTimeUnit(day, options.archiveTimeUnit, options.market) === "ms";
  for (let i = 0; i < tradesPerDay; i++) {
    // The middle of the i-th of n equal slices: strictly inside the day, and never decreasing (rounding is monotone).
    let timeUs = startUs + Math.floor((i + 0.5) * stepUs);
    if (wholeMs) timeUs -= timeUs % 1000;
    yield market.next(timeUs, timeUs);
  }
}

/**
 * The day's 1-minute klines computed from {@link archiveTrades} (holds the day's trades in memory): on USDⓈ-M the
 * futures klines, since the file's trades are the MARKET ones.
 */
export function archiveKlines(options: ArchiveTradeOptions, symbol: string, day: string): KlineRow[] {
  const unit = archiveTimeUnit(day, options.archiveTimeUnit, options.market);
  return buildKlines([...archiveTrades(options, symbol, day)], 60_000, unit);
}

/** A stable number for a symbol (FNV-1a), to seed its markets. */
function symbolNumber(symbol: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) hash = Math.imul(hash ^ symbol.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
