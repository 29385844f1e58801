/**
 * The exchange's public trade archive layout (data.binance.vision), as pure functions: file names, URL paths, UTC
 * days and months, and the time unit a day's file uses.
 *
 * `/data/spot/daily/trades/<SYMBOL>/<SYMBOL>-trades-<YYYY-MM-DD>.zip` and
 * `/data/spot/monthly/trades/<SYMBOL>/<SYMBOL>-trades-<YYYY-MM>.zip`, each with a `.zip.CHECKSUM` sibling; USDⓈ-M
 * futures the same under `/data/futures/um/`.
 */
import { type Market, marketProfile } from "../market.ts";
import type { TimeUnit } from "./encode.ts";

/** A daily or a monthly file. */
export type ArchivePeriod = "daily" | "monthly";

/** One file of the archive. */
export interface ArchiveFile {
  period: ArchivePeriod;
  symbol: string;
  /** `YYYY-MM-DD` for a daily file, `YYYY-MM` for a monthly one. */
  date: string;
}

/** What a request path asks for: a zip or its checksum. */
export interface ArchiveRequest {
  file: ArchiveFile;
  checksum: boolean;
}

/** How the archive writes times: by date as Binance does (`auto`), or always one unit. */
export type ArchiveTimeUnitSetting = "auto" | "ms" | "us";

/** Microseconds in a UTC day. */
export const DAY_US = 86_400_000_000;

/** Spot files switch from milliseconds to microseconds on this day. */
export const MICROSECONDS_FROM = "2025-01-01";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^\d{4}-\d{2}$/;
const PATH = /^\/(daily|monthly)\/trades\/([A-Z0-9]{1,20})\/([A-Z0-9]{1,20})-trades-([0-9-]{7,10})\.zip(\.CHECKSUM)?$/;
const CSV_NAME = /^([A-Z0-9]{1,20})-trades-([0-9-]{7,10})\.csv$/;

/** Whether `text` is a real calendar day `YYYY-MM-DD`. */
export function isArchiveDay(text: string): boolean {
  if (!DAY.test(text)) return false;
  const ms = Date.parse(`${text}T00:00:00Z`); // NaN for month 13; 2023-02-29 parses as March 1st
  return Number.isFinite(ms) && new Date(ms).toISOString().startsWith(text);
}

/** Whether `text` is a real month `YYYY-MM`. */
export function isArchiveMonth(text: string): boolean {
  return MONTH.test(text) && isArchiveDay(`${text}-01`);
}

/** The zip's name without `.zip`, which is also the CSV's name without `.csv`: `BTCUSDT-trades-2024-08-01`. */
export function archiveBaseName(file: ArchiveFile): string {
  return `${file.symbol}-trades-${file.date}`;
}

/** The URL path of a file's zip, or of its checksum, in `market`'s archive (`/data/spot/…`, `/data/futures/um/…`). */
export function archivePath(file: ArchiveFile, checksum = false, market: Market = "spot"): string {
  return `${archiveRoot(market)}/${file.period}/trades/${file.symbol}/${archiveBaseName(file)}.zip${
    checksum ? ".CHECKSUM" : ""
  }`;
}

/** Where `market`'s archive files live: `/data/spot`, `/data/futures/um`. */
export function archiveRoot(market: Market): string {
  return `/data/${marketProfile(market).archivePath}`;
}

type Match = [string, ArchivePeriod, string, string, string, string | undefined];

/** The file a URL path names in `market`'s archive, or `undefined` when the path is not an archive file's there. */
export function parseArchivePath(pathname: string, market: Market = "spot"): ArchiveRequest | undefined {
  const root = archiveRoot(market);
  if (!pathname.startsWith(`${root}/`)) return undefined;
  const match = PATH.exec(pathname.slice(root.length));
  if (match === null) return undefined;
  const [, period, folder, symbol, date, checksum] = match as unknown as Match;
  if (folder !== symbol) return undefined;
  if (!(period === "daily" ? isArchiveDay(date) : isArchiveMonth(date))) return undefined;
  return { file: { period, symbol, date }, checksum: checksum !== undefined };
}

/** The file a trades CSV's name stands for (`BTCUSDT-trades-2024-08-01.csv` is a daily file), if it is one. */
export function parseArchiveCsvName(name: string): ArchiveFile | undefined {
  const match = CSV_NAME.exec(name);
  if (match === null) return undefined;
  const [, symbol, date] = match as unknown as [string, string, string];
  if (isArchiveDay(date)) return { period: "daily", symbol, date };
  if (isArchiveMonth(date)) return { period: "monthly", symbol, date };
  return undefined;
}

/** The body of a `.zip.CHECKSUM` file, as `sha256sum` prints it. */
export function checksumBody(sha256: string, file: ArchiveFile): string {
  return `${sha256}  ${archiveBaseName(file)}.zip\n`;
}

/** Microseconds since the epoch at the start of a UTC day. */
export function dayStartUs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) * 1000;
}

/** The UTC day (`YYYY-MM-DD`) holding a time in microseconds. */
export function dayOfUs(timeUs: number): string {
  return new Date(Math.floor(timeUs / 1000)).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let us = dayStartUs(from); us <= dayStartUs(to); us += DAY_US) days.push(dayOfUs(us));
  return days;
}

/** Every day of a month `YYYY-MM`. */
export function daysOfMonth(month: string): string[] {
  const [year, number] = month.split("-").map(Number) as [number, number];
  const last = new Date(Date.UTC(year, number, 0)).toISOString().slice(0, 10);
  return daysBetween(`${month}-01`, last);
}

/** The calendar months that lie wholly within [from, to]: the only ones with a monthly file. */
export function monthsWithin(from: string, to: string): string[] {
  const months = [...new Set(daysBetween(from, to).map((day) => day.slice(0, 7)))];
  return months.filter((month) => {
    const days = daysOfMonth(month);
    return days[0]! >= from && days.at(-1)! <= to;
  });
}

/**
 * The unit of a file's times: Binance's spot archive moved to microseconds on 2025-01-01; the USDⓈ-M archive stays
 * in milliseconds.
 */
export function archiveTimeUnit(date: string, setting: ArchiveTimeUnitSetting, market: Market = "spot"): TimeUnit {
  if (setting !== "auto") return setting;
  if (market === "usdm") return "ms";
  return date.slice(0, 10).padEnd(10, "-01") >= MICROSECONDS_FROM ? "us" : "ms";
}
