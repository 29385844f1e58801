/**
 * Which files of the exchange's public trade archive (data.binance.vision) cover a range of days, and where they are.
 * Pure.
 *
 * Layout: `<base>/data/<spot | futures/um>/<daily|monthly>/trades/<SYMBOL>/<SYMBOL>-trades-<YYYY-MM-DD | YYYY-MM>.zip`,
 * each with a `.zip.CHECKSUM` beside it. A calendar month asked for whole is one monthly file (one request instead of up to 31);
 * any other day is its daily file.
 */

import { type Market, marketProfile } from "../../market.ts";

/** The market whose archive is read: its profile names the archive's path (`spot`, `futures/um`). */
export type ArchiveMarket = Market;

/** One zip of the archive. */
export interface ArchiveFile {
  market: ArchiveMarket;
  symbol: string;
  period: "daily" | "monthly";
  /** `YYYY-MM-DD` (daily) or `YYYY-MM` (monthly). */
  date: string;
  /** The UTC days the file holds, in order. */
  days: string[];
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Whether `text` is a real calendar day written `YYYY-MM-DD`. */
export function isDay(text: string): boolean {
  if (!DAY.test(text)) return false;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`); ms <= Date.parse(`${to}T00:00:00Z`); ms += MS_PER_DAY) {
    days.push(new Date(ms).toISOString().slice(0, 10));
  }
  return days;
}

/** The day after `day`. */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + MS_PER_DAY).toISOString().slice(0, 10);
}

/**
 * The files that cover `days` (sorted, distinct) of `symbol`: a monthly file for each calendar month whose every day
 * is asked for, daily files for the rest, in date order.
 */
export function planArchiveFiles(market: ArchiveMarket, symbol: string, days: readonly string[]): ArchiveFile[] {
  const byMonth = Map.groupBy(days, (day) => day.slice(0, 7));
  const files: ArchiveFile[] = [];
  for (const [month, monthDays] of byMonth) {
    if (monthDays.length === daysInMonth(month)) {
      files.push({ market, symbol, period: "monthly", date: month, days: [...monthDays] });
    } else {
      for (const day of monthDays) files.push({ market, symbol, period: "daily", date: day, days: [day] });
    }
  }
  return files;
}

/** The daily files of `days`, whatever months they make up (for a month not published whole yet). */
export function dailyFiles(market: ArchiveMarket, symbol: string, days: readonly string[]): ArchiveFile[] {
  return days.map((day) => ({ market, symbol, period: "daily", date: day, days: [day] }));
}

function daysInMonth(month: string): number {
  const [year, monthNumber] = month.split("-").map(Number) as [number, number];
  return new Date(Date.UTC(year, monthNumber, 0)).getUTCDate();
}

/** `BTCUSDT-trades-2024-08-01.zip`. */
export function zipName(file: ArchiveFile): string {
  return `${file.symbol}-trades-${file.date}.zip`;
}

/** The file's path below the archive's base URL (and below the download cache). */
export function archivePath(file: ArchiveFile): string {
  return `data/${marketProfile(file.market).archivePath}/${file.period}/trades/${file.symbol}/${zipName(file)}`;
}

/** The zip's URL under `baseUrl` (e.g. `https://data.binance.vision`). */
export function archiveUrl(baseUrl: URL, file: ArchiveFile): URL {
  return new URL(archivePath(file), baseUrl.href.endsWith("/") ? baseUrl : new URL(`${baseUrl.href}/`));
}

/** The URL of the zip's `.CHECKSUM`. */
export function checksumUrl(baseUrl: URL, file: ArchiveFile): URL {
  return new URL(`${archiveUrl(baseUrl, file).href}.CHECKSUM`);
}

/**
 * The sha256 (64 lower-case hex digits) in a `.CHECKSUM` file (`sha256sum` format: `<hex>  <file name>`).
 *
 * @throws {SyntaxError} When the text holds no sha256 for `name`.
 */
export function parseChecksum(text: string, name: string): string {
  const match = /^([0-9a-fA-F]{64})[ \t]+\*?(\S+)\s*$/.exec(text.trim());
  if (match === null) {
    throw new SyntaxError(`Cannot read the checksum of ${name}: expected "<sha256>  ${name}", got ${short(text)}`);
  }
  if (match[2] !== name) {
    throw new SyntaxError(`Cannot read the checksum of ${name}: the .CHECKSUM names ${short(match[2]!)}`);
  }
  return match[1]!.toLowerCase();
}

function short(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}
