/**
 * The notebooks' parameters: which pair, how many minutes, which database and lake, and the health thresholds.
 * Read from the environment, so `deno task report` and a Jupyter session configure the notebooks the same way.
 */
import { isAbsolute, resolve } from "node:path";
import { ConfigError, type Env, type HealthThresholds, loadHealthThresholds, loadStorageConfig } from "../config.ts";
import { isMarket, type Market } from "../market.ts";
import { PROJECT_ROOT } from "../paths.ts";

/** What the notebooks show. */
export interface NotebookParams {
  /** The pair to chart; undefined: the pair with the most trades in the window. */
  pair: string | undefined;
  /** The market whose pair the market notebook charts (NOTEBOOK_MARKET); undefined: spot, or the only one traded. */
  market: Market | undefined;
  /** Minutes up to the latest data (not the wall clock, so a stopped pipeline still shows its last hour). */
  windowMinutes: number;
  /** Absolute path of the marts database, opened read-only. */
  duckdbPath: string;
  /** Absolute path of the Parquet lake, only listed (file counts and sizes). */
  lakeDir: string;
  /** The thresholds the health mart judges by, drawn on the charts. */
  thresholds: HealthThresholds;
}

/** Defaults a notebook's first cell may set; the environment wins over them. */
export interface ParamDefaults {
  /** @default "" (the busiest pair) */
  pair?: string;
  /** @default 60 */
  windowMinutes?: number;
}

/**
 * Reads NOTEBOOK_PAIR, NOTEBOOK_MARKET, NOTEBOOK_WINDOW_MINUTES, DUCKDB_PATH, LAKE_DIR, HEALTH_STALE_AFTER_S and
 * HEALTH_WARN_LATENCY_MS; relative paths are resolved against the project root (the kernel runs in notebooks/).
 *
 * @throws {ConfigError} when a value cannot be used
 */
export function loadNotebookParams(env: Env, defaults: ParamDefaults = {}): NotebookParams {
  const rawPair = (env.get("NOTEBOOK_PAIR") ?? defaults.pair ?? "").trim().toUpperCase();
  if (rawPair !== "" && !/^[A-Z0-9]{2,20}$/.test(rawPair)) {
    throw new ConfigError("NOTEBOOK_PAIR", rawPair, "a symbol of 2-20 letters or digits such as BTCUSDT, or empty");
  }
  const rawMarket = (env.get("NOTEBOOK_MARKET") ?? "").trim().toLowerCase();
  if (rawMarket !== "" && !isMarket(rawMarket)) {
    throw new ConfigError("NOTEBOOK_MARKET", rawMarket, "spot, usdm, or empty (spot, else the market that traded)");
  }
  const rawWindow = env.get("NOTEBOOK_WINDOW_MINUTES")?.trim() || String(defaults.windowMinutes ?? 60);
  const windowMinutes = /^\d{1,6}$/.test(rawWindow) ? Number(rawWindow) : NaN;
  if (!(windowMinutes >= 1 && windowMinutes <= 43_200)) {
    throw new ConfigError("NOTEBOOK_WINDOW_MINUTES", rawWindow, "a whole number of minutes from 1 to 43200");
  }
  const storage = loadStorageConfig(env);
  return {
    pair: rawPair === "" ? undefined : rawPair,
    market: rawMarket === "" ? undefined : rawMarket as Market,
    windowMinutes,
    duckdbPath: projectPath(storage.duckdbPath),
    lakeDir: projectPath(storage.lakeDir),
    thresholds: loadHealthThresholds(env),
  };
}

function projectPath(path: string): string {
  return isAbsolute(path) ? path : resolve(PROJECT_ROOT, path);
}
