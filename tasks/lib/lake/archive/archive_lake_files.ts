/**
 * The importer's files in the lake. Pure.
 *
 * An imported hour is `pair=<SYMBOL>/trade_date=<day>/hour=<HH>/archive-<SYMBOL>-<day>-<HH>.parquet`: the name is a
 * function of (symbol, day, hour) alone, so importing a day again replaces its files instead of adding to them, and
 * it can never be taken for a consumer's `part-` or compaction's `compact-` file (neither touches it either).
 * What was imported is recorded per day in `_archive_imports/<market>/<SYMBOL>/<day>.json`, written after the day's
 * files; the `_` keeps both folders out of the readers' `pair=*` globs.
 */

/** Folder (under the lake) of the per-day import records. */
export const IMPORTS_FOLDER = "_archive_imports";
/** Folder (under the lake) where a run's statement writes before files are published. */
export const STAGING_FOLDER = "_archive_staging";

/** `archive-BTCUSDT-2024-08-01-05.parquet`; `part` > 0 when DuckDB split one hour into several files. */
export function archiveFileName(symbol: string, day: string, hour: string, part = 0): string {
  return `archive-${symbol}-${day}-${hour}${part > 0 ? `-${part}` : ""}.parquet`;
}

/** Whether `name` is one of the importer's files of `symbol` and `day`. */
export function isArchiveFileOf(name: string, symbol: string, day: string): boolean {
  return name.startsWith(`archive-${symbol}-${day}-`) && name.endsWith(".parquet");
}

/** Whether `name` is an importer's file at all. */
export function isArchiveFile(name: string): boolean {
  return /^archive-[A-Z0-9]{2,20}-\d{4}-\d{2}-\d{2}-\d{2}(?:-\d+)?\.parquet$/.test(name);
}

/** What one day's import record says. */
export interface DayImportRecord {
  symbol: string;
  day: string;
  /** The archive file it came from, and that file's sha256. */
  source: string;
  sha256: string;
  trades: number;
  firstTradeId: number | null;
  lastTradeId: number | null;
  files: string[];
  importedAt: string;
}
