/**
 * `deno task import` flags and settings, parsed and checked before anything runs. Pure: a bad value throws a
 * one-line UsageError or ConfigError naming it and what is allowed.
 */
import { parseArgs } from "node:util";
import { UsageError, wholeNumberFlag } from "../../cli.ts";
import { type Env, loadMarket, parsePath, parseSymbols, parseUrl, SETTINGS } from "../../config.ts";
import { isMarket, type Market } from "../../market.ts";
import { daysBetween, isDay } from "./archive_files.ts";

export const IMPORT_USAGE = "usage: deno task import --symbols BTCUSDT,ETHUSDT --from 2024-08-01 [--to 2024-08-09] " +
  "[--market spot|usdm (default: env MARKET, else spot)] [--fill-gaps] [--force] [--stall-timeout S]   " +
  "(--fill-gaps: --from/--to are optional bounds)";

/** Everything the import needs, decided. */
export interface ImportArgs {
  help: boolean;
  /** `--market`, else MARKET: whose archive is read, and whose dataset (marketLakeDir) it goes into. */
  market: Market;
  symbols: string[];
  /** The days asked for; empty with --fill-gaps, whose bounds are `gapBounds`. */
  days: string[];
  gapBounds: { from?: string; to?: string };
  fillGaps: boolean;
  force: boolean;
  stallTimeoutMs: number;
  baseUrl: URL;
  lakeDir: string;
  cacheDir: string;
}

/** Most days one run may ask for (ten years), so a typo in a year fails fast instead of queueing 300,000 files. */
const MAX_DAYS = 3660;

/**
 * Parses the flags and the `MARKET`, `BINANCE_DATA_URL`, `LAKE_DIR` and `ARCHIVE_CACHE_DIR` settings; `today` is
 * UTC.
 */
export function parseImportArgs(args: readonly string[], env: Env, today: string): ImportArgs {
  const { values } = parseArgs({
    args: [...args],
    options: {
      symbols: { type: "string" },
      market: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      "fill-gaps": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      "stall-timeout": { type: "string" },
      help: { type: "boolean", default: false },
    },
    allowPositionals: false,
    strict: true,
  });
  const settings = {
    baseUrl: parseUrl(
      "BINANCE_DATA_URL",
      env.get("BINANCE_DATA_URL") || SETTINGS.BINANCE_DATA_URL.default,
      ["http:", "https:"],
    ),
    lakeDir: parsePath("LAKE_DIR", env.get("LAKE_DIR") || SETTINGS.LAKE_DIR.default),
    cacheDir: parsePath("ARCHIVE_CACHE_DIR", env.get("ARCHIVE_CACHE_DIR") || SETTINGS.ARCHIVE_CACHE_DIR.default),
  };
  const flagMarket = values.market?.trim().toLowerCase();
  if (flagMarket !== undefined && !isMarket(flagMarket)) {
    throw new UsageError(`Cannot use --market "${values.market}": expected spot or usdm (USDⓈ-M futures)`);
  }
  const market = flagMarket ?? loadMarket(env);
  const base = { market, fillGaps: values["fill-gaps"], force: values.force, ...settings };
  const stallTimeoutMs = wholeNumberFlag("stall-timeout", values["stall-timeout"] ?? "30", 1, 3600) * 1000;
  if (values.help) return { help: true, symbols: [], days: [], gapBounds: {}, stallTimeoutMs, ...base };
  if (values.symbols === undefined) throw new UsageError(`Missing --symbols: ${IMPORT_USAGE}`);
  let symbols: string[];
  try {
    symbols = parseSymbols("--symbols", values.symbols);
  } catch {
    throw new UsageError(
      `Cannot use --symbols "${values.symbols}": expected comma-separated symbols of 2-20 letters or digits, e.g. ` +
        "BTCUSDT,ETHUSDT",
    );
  }
  for (const flag of ["from", "to"] as const) {
    const value = values[flag];
    if (value !== undefined && !isDay(value)) {
      throw new UsageError(`Cannot use --${flag} "${value}": expected a day written YYYY-MM-DD, e.g. 2024-08-01`);
    }
  }
  if (values.from === undefined && !base.fillGaps) throw new UsageError(`Missing --from: ${IMPORT_USAGE}`);
  const from = values.from;
  const to = values.to ?? (values.from === undefined ? undefined : today);
  if (from !== undefined && from > today) {
    throw new UsageError(`Cannot use --from ${from}: it is after today (${today}, UTC)`);
  }
  if (from !== undefined && to !== undefined && to < from) {
    throw new UsageError(`Cannot import --from ${from} --to ${to}: --to is before --from`);
  }
  const days = from === undefined || to === undefined ? [] : daysBetween(from, to);
  if (days.length > MAX_DAYS && !base.fillGaps) {
    throw new UsageError(`Cannot import ${days.length} days at once: at most ${MAX_DAYS}; split the range`);
  }
  const gapBounds = { ...(from === undefined ? {} : { from }), ...(values.to === undefined ? {} : { to: values.to }) };
  return { help: false, symbols, days: base.fillGaps ? [] : days, gapBounds, stallTimeoutMs, ...base };
}
