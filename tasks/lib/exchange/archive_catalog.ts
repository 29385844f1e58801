/**
 * Which files the archive holds, and where each one's content comes from. Pure.
 *
 * A given CSV wins over prefilled trades, which win over generated days: the more specific source is what a test
 * or the demo asked for.
 */
import { archiveBaseName, type ArchiveFile, daysBetween, daysOfMonth, monthsWithin } from "./archive_paths.ts";

/** Where a file's CSV comes from. */
export type ArchiveSource =
  /** A Binance CSV given on the command line, served byte for byte. */
  | { kind: "csv"; path: string }
  /** The trades the market prefilled on that day. */
  | { kind: "prefill"; day: string }
  /** Generated days, one for a daily file, the whole month for a monthly one. */
  | { kind: "generated"; days: string[] };

/** What the archive was given. */
export interface ArchiveCatalog {
  /** The symbols of generated days (the exchange's own). */
  symbols: ReadonlySet<string>;
  generated: { from: string; to: string } | undefined;
  /** Days holding prefilled trades, per symbol. */
  prefilled: ReadonlyMap<string, ReadonlySet<string>>;
  /** Given CSV paths by the base name they are served under, e.g. `BTCUSDT-trades-2024-08-01`. */
  csv: ReadonlyMap<string, string>;
}

/** Where `file` comes from, or `undefined` when the archive does not have it. */
export function archiveSource(catalog: ArchiveCatalog, file: ArchiveFile): ArchiveSource | undefined {
  const path = catalog.csv.get(archiveBaseName(file));
  if (path !== undefined) return { kind: "csv", path };
  if (file.period === "daily" && catalog.prefilled.get(file.symbol)?.has(file.date)) {
    return { kind: "prefill", day: file.date };
  }
  const { generated } = catalog;
  if (generated === undefined || !catalog.symbols.has(file.symbol)) return undefined;
  if (file.period === "daily") {
    return file.date >= generated.from && file.date <= generated.to
      ? { kind: "generated", days: [file.date] }
      : undefined;
  }
  return monthsWithin(generated.from, generated.to).includes(file.date)
    ? { kind: "generated", days: daysOfMonth(file.date) }
    : undefined;
}

/** Every file of the catalog, daily then monthly, for listings and tests. */
export function archiveFiles(catalog: ArchiveCatalog): ArchiveFile[] {
  const files: ArchiveFile[] = [];
  const { generated } = catalog;
  for (const symbol of catalog.symbols) {
    if (generated === undefined) break;
    for (const date of daysBetween(generated.from, generated.to)) files.push({ period: "daily", symbol, date });
  }
  for (const [symbol, days] of catalog.prefilled) {
    for (const date of days) files.push({ period: "daily", symbol, date });
  }
  for (const name of catalog.csv.keys()) {
    const [symbol, date] = name.split("-trades-") as [string, string];
    files.push({ period: date.length === 10 ? "daily" : "monthly", symbol, date });
  }
  for (const symbol of catalog.symbols) {
    if (generated === undefined) break;
    for (const date of monthsWithin(generated.from, generated.to)) files.push({ period: "monthly", symbol, date });
  }
  const seen = new Set<string>();
  return files.filter((file) => {
    const key = `${file.period}/${archiveBaseName(file)}`;
    return !seen.has(key) && (seen.add(key), true);
  });
}
