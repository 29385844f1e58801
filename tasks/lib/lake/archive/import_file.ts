/**
 * Imports one verified archive zip into the lake: unzip, cut into one part per hour as it inflates → one checked
 * DuckDB statement per hour, run while the next hours inflate, each writing its hour's file under the staging folder
 * (or, when the hours cannot be trusted, one statement over the whole file, as before) → per day, each hour file
 * fsynced and renamed into its partition, the folder fsynced, the day's earlier archive files that are no longer
 * wanted removed, then the day's import record written. Nothing of a file is published unless every line of it
 * converted.
 */
import { join, relative } from "node:path";
import type { DuckDB } from "../../duckdb.ts";
import { sqlStringList } from "../../duckdb.ts";
import { fsync } from "../storage/durable.ts";
import { withLakeLock } from "../storage/lake_lock.ts";
import { fileNames } from "../storage/listing.ts";
import { partitionDir } from "../storage/partition.ts";
import { UNIQUE_TRADE_IDS_OPTION } from "../storage/unique_ids.ts";
import type { ArchiveFile } from "./archive_files.ts";
import { zipName } from "./archive_files.ts";
import {
  archiveFileName,
  type DayImportRecord,
  IMPORTS_FOLDER,
  isArchiveFileOf,
  STAGING_FOLDER,
} from "./archive_lake_files.ts";
import { checkCsvLine, type CsvLayout, type CsvLineError, detectCsvLayout, TIME_RANGES } from "./csv_layout.ts";
import { type HourPart, HourPartSink, removeLeftoverParts } from "./hour_pipeline.ts";
import { type AmountReading, importHourStatement, importStatement } from "./import_sql.ts";
import { unzipCsvTo } from "./unzip_csv.ts";

/**
 * Hours converted at once. The import's hour instance runs one thread per statement (import_run.ts): one statement
 * next to the unzip, which takes a core, then two, one per core, for the hours left once it is done.
 */
const HOUR_CONNECTIONS = 2;

/** A file that cannot be imported as it is; the message names the file and, for bad lines, the line and field. */
export class ImportFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImportFileError";
  }
}

/** What importing one day of a file did. */
export interface DayImported {
  day: string;
  trades: number;
  /** Trades of the day the lake held already from live capture or backfill. */
  alreadyInLake: number;
  /** Of those, copies that differ from the archive's in any field. */
  disagreements: number;
}

/** Where things are, and how to report. */
export interface ImportFileContext {
  duckdb: DuckDB;
  /** Where the hours' statements run: best an instance with one thread per statement. Default: `duckdb`. */
  hourDuckDB?: DuckDB;
  lakeDir: string;
  /** Folder for the unzipped CSV. */
  workDir: string;
  nowMs: () => number;
  onPhase?: (phase: "unzipping" | "converting" | "publishing", detail?: { bytes: number; total: number }) => void;
  signal?: AbortSignal | undefined;
}

/** Imports `file` (its verified zip at `zipPath`, with `sha256`) and returns what each of its days got. */
export async function importArchiveFile(
  file: ArchiveFile,
  zipPath: string,
  sha256: string,
  context: ImportFileContext,
): Promise<DayImported[]> {
  const name = zipName(file);
  const stagingDir = join(context.lakeDir, STAGING_FOLDER, crypto.randomUUID());
  const writtenAtMs = context.nowMs();
  const run = (sql: string) => context.duckdb.connection.run(sql);
  const baseName = name.replace(/\.zip$/, "");
  // The futures archive lists only order-book trades (the stream's others are off the archive and REST).
  const tradeType = file.market === "usdm" ? "MARKET" : undefined;
  await removeLeftoverParts(context.workDir, baseName);
  // Each hour is converted into its own file as soon as it is inflated, while the next one is (hour_pipeline.ts), on
  // connections of their own.
  const hourInstance = (context.hourDuckDB ?? context.duckdb).instance;
  const connections = await Promise.all(Array.from({ length: HOUR_CONNECTIONS }, () => hourInstance.connect()));
  const convertHour = async (part: HourPart, layout: CsvLayout, slot: number): Promise<boolean> => {
    const [low, high] = TIME_RANGES[layout.timeUnit];
    const unitsPerHour = layout.timeUnit === "us" ? 3_600_000_000 : 3_600_000;
    const at = new Date(part.hour * 3_600_000).toISOString();
    const dir = join(stagingDir, `pair=${file.symbol}`, `trade_date=${at.slice(0, 10)}`, `hour=${at.slice(11, 13)}`);
    await Deno.mkdir(dir, { recursive: true });
    const statement = (amounts: AmountReading) =>
      importHourStatement({
        partPath: part.path,
        layout,
        pair: file.symbol,
        writtenAtMs,
        uniqueIds: part.idsIncreasing,
        uniqueIdsOption: UNIQUE_TRADE_IDS_OPTION,
        amounts,
        tradeType,
        previousId: part.previousId,
        timeRange: [Math.max(low, part.hour * unitsPerHour), Math.min(high, (part.hour + 1) * unitsPerHour)],
        outputPath: join(dir, "data_0.parquet"),
      });
    const connection = connections[slot]!;
    return await connection.run(statement("decimal18"))
      .then(() => true, () => connection.run(statement("text")).then(() => true));
  };
  const sink = new HourPartSink(context.workDir, baseName, convertHour, {
    concurrency: HOUR_CONNECTIONS,
    concurrencyWhileInflating: 1,
    signal: context.signal,
  });
  try {
    context.onPhase?.("unzipping");
    let unzipped;
    try {
      unzipped = await unzipCsvTo(zipPath, sink, (bytes, total) => context.onPhase?.("unzipping", { bytes, total }));
    } catch (error) {
      if (context.signal?.aborted) throw error;
      throw new ImportFileError(`${name}: ${(error as Error).message}`, { cause: error });
    }
    const partPaths = sink.parts.map((part) => part.path);
    let layout: CsvLayout;
    try {
      layout = detectCsvLayout(unzipped.firstLine, unzipped.secondLine);
    } catch (error) {
      throw new ImportFileError(`${name}: ${(error as Error).message}`, { cause: error });
    }

    if (unzipped.firstInexactLine !== undefined) {
      await sink.settle();
      const bad = await findBadLine(partPaths, layout);
      const why = bad?.message ?? `line ${unzipped.firstInexactLine}: an amount is not a plain decimal`;
      throw new ImportFileError(`${name}: ${why}; nothing of this file was imported`);
    }

    context.onPhase?.("converting");
    if (!(await sink.converted())) {
      // Times out of order, or a line an hour's statement refused: the whole file in one statement, as it always was.
      await Deno.remove(stagingDir, { recursive: true }).catch(() => {});
      await Deno.mkdir(join(context.lakeDir, STAGING_FOLDER), { recursive: true });
      const statement = (amounts: AmountReading) =>
        importStatement({
          csvPath: partPaths,
          layout,
          pair: file.symbol,
          outputDir: stagingDir,
          writtenAtMs,
          uniqueIds: unzipped.idsIncreasing,
          uniqueIdsOption: UNIQUE_TRADE_IDS_OPTION,
          amounts,
          tradeType,
        });
      try {
        await run(statement("decimal18"));
      } catch {
        // An amount beyond DECIMAL(18, 8), or a line to refuse: the text statement converts the first and names the second.
        await Deno.remove(stagingDir, { recursive: true }).catch(() => {});
        try {
          await run(statement("text"));
        } catch (error) {
          const bad = await findBadLine(partPaths, layout);
          const why = bad?.message ?? firstLine((error as Error).message);
          throw new ImportFileError(`${name}: ${why}; nothing of this file was imported`, { cause: error });
        }
      }
    }

    context.onPhase?.("publishing");
    const written = await writtenHours(stagingDir, file.symbol);
    // Only the file's own days are published: a trade dated elsewhere would be converted, then silently left out.
    const outside = written.find((hour) => !file.days.includes(hour.day));
    if (outside !== undefined) {
      throw new ImportFileError(
        `${name}: holds trades of ${outside.day}, outside the ${file.period === "monthly" ? "month" : "day"} it is ` +
          "named for; nothing of this file was imported",
      );
    }
    const days: DayImported[] = [];
    for (const day of file.days) {
      if (context.signal?.aborted) throw context.signal.reason;
      const hours = written.filter((hour) => hour.day === day);
      const overlap = await compareWithLake(context, file.symbol, day, hours.map((hour) => hour.path));
      const published = await publishDay(context.lakeDir, file.symbol, day, hours);
      const stats = await dayStats(context.duckdb, published);
      const record: DayImportRecord = {
        symbol: file.symbol,
        day,
        source: name,
        sha256,
        trades: stats.trades,
        firstTradeId: stats.firstTradeId,
        lastTradeId: stats.lastTradeId,
        files: published.map((path) => relative(context.lakeDir, path)),
        importedAt: new Date(context.nowMs()).toISOString(),
      };
      await writeImportRecord(context.lakeDir, file.market, record);
      days.push({ day, trades: stats.trades, ...overlap });
    }
    return days;
  } finally {
    await sink.settle();
    for (const connection of connections) connection.closeSync();
    await Deno.remove(stagingDir, { recursive: true }).catch(() => {});
    for (const part of sink.parts) await Deno.remove(part.path).catch(() => {});
  }
}

interface WrittenHour {
  day: string;
  hour: string;
  /** The statement's files for that hour, in name order. */
  path: string;
  part: number;
}

/** The files the statement wrote under the staging folder, by day and hour. */
async function writtenHours(stagingDir: string, symbol: string): Promise<WrittenHour[]> {
  const pairDir = join(stagingDir, `pair=${symbol}`);
  const found: WrittenHour[] = [];
  for (const dateEntry of await directories(pairDir)) {
    const day = /^trade_date=(\d{4}-\d{2}-\d{2})$/.exec(dateEntry)?.[1];
    if (day === undefined) continue;
    for (const hourEntry of await directories(join(pairDir, dateEntry))) {
      const hour = /^hour=(\d{2})$/.exec(hourEntry)?.[1];
      if (hour === undefined) continue;
      const dir = join(pairDir, dateEntry, hourEntry);
      const names = (await fileNames(dir)).filter((entry) => entry.endsWith(".parquet"));
      names.forEach((entry, part) => found.push({ day, hour, path: join(dir, entry), part }));
    }
  }
  return found;
}

/**
 * Moves a day's hour files into the lake under their final names (each fsynced, then renamed, then its folder
 * fsynced) and removes the day's archive files that this import did not write again.
 */
async function publishDay(lakeDir: string, symbol: string, day: string, hours: WrittenHour[]): Promise<string[]> {
  const published: string[] = [];
  for (const hour of hours) {
    const dir = partitionDir(lakeDir, { pair: symbol, tradeDate: day, hour: Number(hour.hour) });
    await Deno.mkdir(dir, { recursive: true });
    const final = join(dir, archiveFileName(symbol, day, hour.hour, hour.part));
    await fsync(hour.path);
    await Deno.rename(hour.path, final);
    await fsync(dir);
    published.push(final);
  }
  const stale = (await archiveFilesOfDay(lakeDir, symbol, day)).filter((path) => !published.includes(path));
  if (stale.length > 0) {
    // Removing files is what readers must not catch half-way: under the lake lock, as compaction does.
    await withLakeLock(lakeDir, "exclusive", async () => {
      for (const path of stale) await Deno.remove(path);
    });
  }
  return published;
}

/** Every archive file of `symbol` on `day` in the lake. */
export async function archiveFilesOfDay(lakeDir: string, symbol: string, day: string): Promise<string[]> {
  const dateDir = join(lakeDir, `pair=${symbol}`, `trade_date=${day}`);
  const paths: string[] = [];
  for (const hourEntry of await directories(dateDir)) {
    if (!/^hour=\d{2}$/.test(hourEntry)) continue;
    for (const name of await fileNames(join(dateDir, hourEntry))) {
      if (isArchiveFileOf(name, symbol, day)) paths.push(join(dateDir, hourEntry, name));
    }
  }
  return paths.sort();
}

/** The other (live, backfilled, compacted) visible files of `symbol` on `day`. */
async function otherFilesOfDay(lakeDir: string, symbol: string, day: string): Promise<string[]> {
  const dateDir = join(lakeDir, `pair=${symbol}`, `trade_date=${day}`);
  const paths: string[] = [];
  for (const hourEntry of await directories(dateDir)) {
    if (!/^hour=\d{2}$/.test(hourEntry)) continue;
    for (const name of await fileNames(join(dateDir, hourEntry))) {
      if (!name.startsWith(".") && name.endsWith(".parquet") && !name.startsWith("archive-")) {
        paths.push(join(dateDir, hourEntry, name));
      }
    }
  }
  return paths.sort();
}

/**
 * How many of the day's archive trades the lake held already, and how many of those differ in any field. Times are
 * compared at the millisecond when either copy came in milliseconds (the live stream's unit; the spot archive's is µs
 * from 2025). Costs nothing for a day the lake held nothing of.
 */
async function compareWithLake(
  context: ImportFileContext,
  symbol: string,
  day: string,
  archivePaths: string[],
): Promise<{ alreadyInLake: number; disagreements: number }> {
  const others = await otherFilesOfDay(context.lakeDir, symbol, day);
  if (others.length === 0 || archivePaths.length === 0) return { alreadyInLake: 0, disagreements: 0 };
  const sql = `
with archive as (
  select * from read_parquet(${sqlStringList(archivePaths)}, hive_partitioning = false)
),
lake as (
  select distinct on (trade_id) trade_id, price, quantity, trade_time, time_unit, is_buyer_maker, is_best_match
  from read_parquet(${sqlStringList(others)}, hive_partitioning = false, union_by_name = true)
  where trade_id between (select min(trade_id) from archive) and (select max(trade_id) from archive)
)
select
  count(*)::integer as overlapping,
  count(*) filter (where
    archive.price <> lake.price
    or archive.quantity <> lake.quantity
    or archive.is_buyer_maker <> lake.is_buyer_maker
    or archive.is_best_match is distinct from lake.is_best_match and archive.is_best_match is not null
      and lake.is_best_match is not null
    or case when archive.time_unit = 'ms' or lake.time_unit = 'ms'
      then date_trunc('millisecond', archive.trade_time) <> date_trunc('millisecond', lake.trade_time)
      else archive.trade_time <> lake.trade_time end
  )::integer as disagreeing
from archive
inner join lake on archive.trade_id = lake.trade_id`;
  const [row] = (await context.duckdb.connection.runAndReadAll(sql)).getRows();
  return { alreadyInLake: Number(row?.[0] ?? 0), disagreements: Number(row?.[1] ?? 0) };
}

async function dayStats(
  duckdb: DuckDB,
  paths: string[],
): Promise<{ trades: number; firstTradeId: number | null; lastTradeId: number | null }> {
  if (paths.length === 0) return { trades: 0, firstTradeId: null, lastTradeId: null };
  const sql = `select count(*)::bigint, min(trade_id), max(trade_id) from read_parquet(${
    sqlStringList(paths)
  }, hive_partitioning = false)`;
  const [row] = (await duckdb.connection.runAndReadAll(sql)).getRows();
  const id = (value: unknown) => value === null || value === undefined ? null : Number(value);
  return { trades: Number(row?.[0] ?? 0), firstTradeId: id(row?.[1]), lastTradeId: id(row?.[2]) };
}

/** Where the record of `day`'s import of `symbol` is kept. */
export function importRecordPath(lakeDir: string, market: string, symbol: string, day: string): string {
  return join(lakeDir, IMPORTS_FOLDER, market, symbol, `${day}.json`);
}

/** The record of an earlier import of the day, if any. */
export async function readImportRecord(
  lakeDir: string,
  market: string,
  symbol: string,
  day: string,
): Promise<DayImportRecord | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(importRecordPath(lakeDir, market, symbol, day)));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Writes a day's import record atomically (temporary name, fsync, rename, fsync of the folder). */
async function writeImportRecord(lakeDir: string, market: string, record: DayImportRecord): Promise<void> {
  const path = importRecordPath(lakeDir, market, record.symbol, record.day);
  const dir = join(path, "..");
  await Deno.mkdir(dir, { recursive: true });
  const temporary = `${path}.tmp`;
  await Deno.writeTextFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
  await fsync(temporary);
  await Deno.rename(temporary, path);
  await fsync(dir);
}

/**
 * The first line of the file's parts (its lines after any header, in order) that cannot be imported, read line by
 * line (only after DuckDB refused the file, or the unzip saw an amount it would round).
 */
async function findBadLine(partPaths: readonly string[], layout: CsvLayout): Promise<CsvLineError | undefined> {
  let lineNumber = layout.hasHeader ? 1 : 0;
  const check = (line: string): CsvLineError | undefined => {
    lineNumber++;
    return checkCsvLine(line.replace(/\r$/, ""), lineNumber, layout);
  };
  for (const path of partPaths) {
    const file = await Deno.open(path, { read: true });
    const decoder = new TextDecoder();
    let rest = "";
    try {
      for await (const chunk of file.readable) {
        const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          const bad = check(line);
          if (bad) return bad;
        }
      }
      // Each part ends with a whole line; only the file's last line may lack its line end.
      const bad = rest === "" ? undefined : check(rest);
      if (bad) return bad;
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) return undefined;
      throw error;
    }
  }
  return undefined;
}

async function directories(path: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(path))).filter((entry) => entry.isDirectory).map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

function firstLine(message: string): string {
  return message.split("\n").filter((line) => line.trim() !== "").slice(0, 2).join(" ").slice(0, 300);
}
