/**
 * A whole import: for each symbol, the days not imported yet → the archive files covering them → per file, checksum,
 * verified download, import; one failure stops only its own file. Days the archive does not have yet (today, and
 * yesterday until it is published) are reported and skipped.
 */
import { join } from "node:path";
import { type DuckDB, openConfinedDuckDB } from "../../duckdb.ts";
import { ensureLakeLockFile } from "../storage/lake_lock.ts";
import {
  type ArchiveFile,
  type ArchiveMarket,
  archivePath,
  archiveUrl,
  checksumUrl,
  dailyFiles,
  planArchiveFiles,
  zipName,
} from "./archive_files.ts";
import { IMPORTS_FOLDER, STAGING_FOLDER } from "./archive_lake_files.ts";
import { ArchiveFileMissing, downloadVerified, fetchChecksum } from "./download.ts";
import { gapDays, lakeGaps } from "./gap_days.ts";
import { importArchiveFile, readImportRecord } from "./import_file.ts";
import type { ImportProgress } from "./progress.ts";

/** What to import, and from where. */
export interface ImportRunOptions {
  market: ArchiveMarket;
  symbols: string[];
  /** The days asked for (sorted); unused with `fillGaps`. */
  days: string[];
  /** Import the days that cover the lake's trade-id gaps, within these bounds, instead of `days`. */
  fillGaps: boolean;
  gapBounds?: { from?: string; to?: string };
  /** Import days again even when the lake records them as imported. */
  force: boolean;
  lakeDir: string;
  /** Downloads go here (and the unzipped CSV while a file is converted). */
  cacheDir: string;
  baseUrl: URL;
  stallTimeoutMs: number;
  progress: ImportProgress;
  nowMs?: () => number;
  signal?: AbortSignal | undefined;
}

/** What happened to one asked-for day of one symbol. */
export interface DayResult {
  symbol: string;
  day: string;
  status: "imported" | "already_imported" | "not_published" | "failed";
  trades: number;
  alreadyInLake: number;
  disagreements: number;
  seconds: number;
  /** Why it failed or was skipped. */
  message?: string;
}

/** Imports what `options` asks for and returns one result per symbol and day. */
export async function runImport(options: ImportRunOptions): Promise<DayResult[]> {
  const nowMs = options.nowMs ?? Date.now;
  await Deno.mkdir(options.lakeDir, { recursive: true });
  await Deno.mkdir(options.cacheDir, { recursive: true });
  const lakeDir = await Deno.realPath(options.lakeDir);
  const cacheDir = await Deno.realPath(options.cacheDir);
  await ensureLakeLockFile(lakeDir);
  const lock = await holdImportLock(lakeDir);
  let duckdb: DuckDB | undefined;
  let hourDuckDB: DuckDB | undefined;
  try {
    // A run that was killed left its staging folder: nothing in it was published, and no other run holds the lock.
    await Deno.remove(join(lakeDir, STAGING_FOLDER), { recursive: true }).catch(() => {});
    const allowedPaths = [`${lakeDir}/`, `${cacheDir}/`];
    duckdb = await openConfinedDuckDB(":memory:", { allowedPaths });
    // The hours' statements get one thread each: two run at once next to the unzip (import_file.ts).
    hourDuckDB = await openConfinedDuckDB(":memory:", { allowedPaths, threads: 1 });
    const wanted = options.fillGaps
      ? gapDays(await lakeGaps(duckdb, lakeDir, options.symbols), options.gapBounds?.from, options.gapBounds?.to)
      : new Map(options.symbols.map((symbol) => [symbol, options.days]));
    if (options.fillGaps) {
      for (const symbol of options.symbols) {
        const days = wanted.get(symbol) ?? [];
        options.progress.say(
          days.length === 0
            ? `import: ${symbol}: no trade-id gap in the lake`
            : `import: ${symbol}: gaps in the lake cover ${days.length} day(s): ${summarizeDays(days)}`,
        );
      }
    }

    const results: DayResult[] = [];
    const queue: ArchiveFile[] = [];
    for (const symbol of options.symbols) {
      const missing: string[] = [];
      for (const day of wanted.get(symbol) ?? []) {
        const record = options.force ? undefined : await readImportRecord(lakeDir, options.market, symbol, day);
        if (record) results.push(result(symbol, day, "already_imported", 0, { trades: record.trades }));
        else missing.push(day);
      }
      queue.push(...planArchiveFiles(options.market, symbol, missing));
    }
    options.progress.start(queue.length);
    const yesterday = new Date(nowMs() - 86_400_000).toISOString().slice(0, 10);
    while (queue.length > 0) {
      if (options.signal?.aborted) break;
      const file = queue.shift()!;
      const startedMs = performance.now();
      const seconds = () => (performance.now() - startedMs) / 1000;
      const name = zipName(file);
      const context = { duckdb, hourDuckDB, lakeDir, cacheDir, nowMs, options };
      try {
        const days = await importOne(file, context);
        for (const day of days) {
          results.push(result(file.symbol, day.day, "imported", seconds() / days.length, day));
        }
        options.progress.fileDone(name, days.reduce((sum, day) => sum + day.trades, 0));
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (error instanceof ArchiveFileMissing && file.period === "monthly") {
          // The month is not published whole (yet): its days one by one.
          options.progress.say(`import: ${name} is not in the archive; taking the month's daily files instead`);
          queue.unshift(...dailyFiles(file.market, file.symbol, file.days));
          options.progress.start(queue.length + results.length);
          continue;
        }
        options.progress.fileDone(name, 0);
        if (error instanceof ArchiveFileMissing && file.days[0]! >= yesterday) {
          const message = `${name}: not published yet (the archive adds a day after it ends); skipped, import it later`;
          options.progress.say(`import: ${message}`);
          results.push(result(file.symbol, file.days[0]!, "not_published", seconds(), {}, message));
          continue;
        }
        const message = failureMessage(name, error);
        options.progress.say(`import: ${message}`);
        for (const day of file.days) results.push(result(file.symbol, day, "failed", seconds(), {}, message));
      }
    }
    options.progress.end();
    return results.sort((a, b) => a.symbol.localeCompare(b.symbol) || a.day.localeCompare(b.day));
  } finally {
    hourDuckDB?.close();
    duckdb?.close();
    lock.close();
  }
}

interface RunContext {
  duckdb: DuckDB;
  hourDuckDB: DuckDB;
  lakeDir: string;
  cacheDir: string;
  nowMs: () => number;
  options: ImportRunOptions;
}

async function importOne(file: ArchiveFile, context: RunContext) {
  const { options } = context;
  const name = zipName(file);
  const download = { stallTimeoutMs: options.stallTimeoutMs, signal: options.signal };
  options.progress.file(name, "checksum");
  const sha256 = await fetchChecksum(checksumUrl(options.baseUrl, file), name, download);
  const zipPath = join(context.cacheDir, archivePath(file));
  const zip = await downloadVerified(archiveUrl(options.baseUrl, file), zipPath, sha256, {
    ...download,
    onProgress: (received, total) => options.progress.file(name, "downloading", received, total),
  });
  const workDir = join(context.cacheDir, "unzipped");
  await Deno.mkdir(workDir, { recursive: true });
  const days = await importArchiveFile(file, zip.path, zip.sha256, {
    duckdb: context.duckdb,
    hourDuckDB: context.hourDuckDB,
    lakeDir: context.lakeDir,
    workDir,
    nowMs: context.nowMs,
    signal: options.signal,
    onPhase: (phase, detail) => options.progress.file(name, phase, detail?.bytes, detail?.total),
  });
  // Imported: the day's records say so, and the zip is not needed again.
  await Deno.remove(zip.path).catch(() => {});
  return days;
}

function result(
  symbol: string,
  day: string,
  status: DayResult["status"],
  seconds: number,
  counts: { trades?: number; alreadyInLake?: number; disagreements?: number },
  message?: string,
): DayResult {
  return {
    symbol,
    day,
    status,
    trades: counts.trades ?? 0,
    alreadyInLake: counts.alreadyInLake ?? 0,
    disagreements: counts.disagreements ?? 0,
    seconds: Math.round(seconds * 100) / 100,
    ...(message === undefined ? {} : { message }),
  };
}

/** One line naming the file, what went wrong and what to do. */
function failureMessage(name: string, error: unknown): string {
  const text = (error as Error).message ?? String(error);
  const detail = text.startsWith(`${name}: `) ? text.slice(name.length + 2) : text;
  switch ((error as Error).name) {
    case "ArchiveFileMissing":
      return `${name}: ${detail}; check the symbol and that the day is after its listing`;
    case "DownloadError":
      return `${name}: ${detail}; run the import again (it takes only what is missing)`;
    case "ImportFileError":
      return detail.includes("nothing of this file was imported")
        ? `${name}: ${detail}`
        : `${name}: ${detail}; run the import again, and if it repeats the archive's file itself is broken`;
    default:
      throw error;
  }
}

function summarizeDays(days: readonly string[]): string {
  return days.length <= 4 ? days.join(", ") : `${days[0]} … ${days.at(-1)}`;
}

/** One import at a time per lake: a second one is told so, rather than racing for the same staging folder. */
async function holdImportLock(lakeDir: string): Promise<Deno.FsFile> {
  await Deno.mkdir(join(lakeDir, IMPORTS_FOLDER), { recursive: true });
  const file = await Deno.open(join(lakeDir, IMPORTS_FOLDER, ".lock"), { write: true, create: true });
  if (!(await tryLock(file))) {
    file.close();
    throw new ImportRunningError(lakeDir);
  }
  return file;
}

/** Another import holds the lake's import lock. */
export class ImportRunningError extends Error {
  constructor(lakeDir: string) {
    super(`Cannot import into ${lakeDir}: another import is running there; wait for it to finish`);
    this.name = "ImportRunningError";
  }
}

async function tryLock(file: Deno.FsFile): Promise<boolean> {
  // Deno has no non-blocking flock; a short race against a timer tells a held lock from a free one.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const locked = file.lock(true).then(() => true);
  const timeout = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 2000));
  const got = await Promise.race([locked, timeout]);
  clearTimeout(timer);
  return got;
}
