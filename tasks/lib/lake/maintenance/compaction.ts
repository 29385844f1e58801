/**
 * Compaction: once an hour partition is closed, its many small files become one, and readers never see a row twice
 * or miss one.
 *
 * Only committed files are merged (first offset below the consumer group's committed offset of their Kafka
 * partition): an uncommitted file may still be removed and rewritten by the consumer after a crash, so merging it
 * would duplicate its rows. The merge keeps one row per (Kafka partition, offset), so re-merging a compacted file
 * with files written again after an offset reset, or with inputs a crash left behind, is exact as well.
 *
 * The merged file is written under a temporary name and made durable first; then, holding the lake lock
 * exclusively, it is renamed into place and its inputs removed. Its name is a hash of its inputs' names, so it never
 * collides with an earlier merge of the same hour, and an hour that is one file already is left alone: re-running
 * is a no-op.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type DuckDB, openConfinedDuckDB, sqlString, sqlStringList } from "../../duckdb.ts";
import { fsync } from "../storage/durable.ts";
import { withLakeLock } from "../storage/lake_lock.ts";
import { fileNames, type HourPartition, hourPartitions } from "../storage/listing.ts";
import { parseLakeFileName } from "../storage/partition.ts";
import { UNIQUE_TRADE_IDS_OPTION } from "../storage/unique_ids.ts";

const COMPACTED_FILE = /^compact-[0-9a-f]{16}\.parquet$/;

/** The file a set of inputs is merged into: `compact-<16 hex digits of a hash of the input names>.parquet`. */
export function compactedFileName(inputs: readonly string[]): string {
  const digest = createHash("sha256").update(inputs.toSorted().join("\n")).digest("hex");
  return `compact-${digest.slice(0, 16)}.parquet`;
}

/** Whether an hour partition is closed: its last trade time plus `graceMs` for late trades is before `nowMs`. */
export function isHourClosed(tradeDate: string, hour: number, nowMs: number, graceMs: number): boolean {
  const hourEndMs = Date.parse(`${tradeDate}T00:00:00Z`) + (hour + 1) * 3_600_000;
  return Number.isFinite(hourEndMs) && hourEndMs + graceMs <= nowMs;
}

/** What compaction does to one hour partition's folder. */
export interface HourPlan {
  inputs: string[];
  output: string;
  /** Committed files are merged; these were left for a later run. */
  uncommitted: string[];
}

/**
 * Which of an hour folder's `files` to merge, given the consumer group's committed offset per Kafka partition
 * (the next offset it will read). Undefined when there is nothing to merge (fewer than two committed files).
 */
export function planHour(files: readonly string[], committed: ReadonlyMap<number, bigint>): HourPlan | undefined {
  const inputs: string[] = [];
  const uncommitted: string[] = [];
  for (const name of files) {
    const part = parseLakeFileName(name);
    if (part) {
      const isCommitted = part.firstOffset < (committed.get(part.kafkaPartition) ?? 0n);
      (isCommitted ? inputs : uncommitted).push(name);
    } else if (COMPACTED_FILE.test(name)) {
      inputs.push(name);
    }
  }
  if (inputs.length < 2) return undefined;
  return { inputs, output: compactedFileName(inputs), uncommitted };
}

/** What a compaction run did (or, with `dryRun`, would do). */
export interface CompactionSummary {
  hoursChecked: number;
  hoursCompacted: number;
  filesMerged: number;
  rows: number;
  /** Rows found twice among the inputs (same Kafka partition and offset) and kept once. */
  duplicatesDropped: number;
  /** Hour partitions left alone because they are still open or within the grace period. */
  hoursOpen: number;
  /** Files not merged because their offsets are not committed yet. */
  uncommittedFiles: number;
}

/** How to compact a lake. */
export interface CompactionOptions {
  lakeDir: string;
  committed: ReadonlyMap<number, bigint>;
  nowMs: number;
  graceMs: number;
  dryRun?: boolean;
  log?: (line: string) => void;
}

/** Merges the small files of every closed hour partition of the lake. */
export async function compactLake(options: CompactionOptions): Promise<CompactionSummary> {
  const log = options.log ?? (() => {});
  const summary: CompactionSummary = {
    hoursChecked: 0,
    hoursCompacted: 0,
    filesMerged: 0,
    rows: 0,
    duplicatesDropped: 0,
    hoursOpen: 0,
    uncommittedFiles: 0,
  };
  const hours = await hourPartitions(options.lakeDir);
  let duckdb: DuckDB | undefined;
  try {
    for (const hour of hours) {
      summary.hoursChecked++;
      if (!isHourClosed(hour.tradeDate, hour.hour, options.nowMs, options.graceMs)) {
        summary.hoursOpen++;
        continue;
      }
      if (!options.dryRun) await removeStaleTemporaries(hour.path, options.nowMs);
      const plan = planHour(await fileNames(hour.path), options.committed);
      if (!plan) continue;
      summary.uncommittedFiles += plan.uncommitted.length;
      if (options.dryRun) {
        log(`would merge ${plan.inputs.length} files of ${hour.path}`);
        summary.hoursCompacted++;
        summary.filesMerged += plan.inputs.length;
        continue;
      }
      const lakeRoot = await Deno.realPath(options.lakeDir);
      duckdb ??= await openConfinedDuckDB(":memory:", { allowedPaths: [`${lakeRoot}/`], threads: 1 });
      const merged = await mergeHour(duckdb, options.lakeDir, hour, plan);
      summary.hoursCompacted++;
      summary.filesMerged += plan.inputs.length;
      summary.rows += merged.rows;
      summary.duplicatesDropped += merged.inputRows - merged.rows;
      log(`merged ${plan.inputs.length} files (${merged.rows} rows) into ${join(hour.path, plan.output)}`);
    }
  } finally {
    duckdb?.close();
  }
  return summary;
}

async function mergeHour(
  duckdb: DuckDB,
  lakeDir: string,
  hour: HourPartition,
  plan: HourPlan,
): Promise<{ rows: number; inputRows: number }> {
  const inputs = plan.inputs.map((name) => join(hour.path, name));
  // Unique, so two compactions running at once never write the same temporary file.
  const temporary = join(hour.path, `.${plan.output}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const final = join(hour.path, plan.output);
  // The inputs carry no Hive columns (those are in the path), and v1 and v2 files differ by a column.
  const source = `read_parquet(${sqlStringList(inputs)}, union_by_name = true, hive_partitioning = false)`;
  const [inputRows] = await rowsOf(duckdb, `select count(*) from ${source}`);
  // A record read twice (a replayed Kafka offset) is kept once.
  const merged = `select distinct on (kafka_partition, kafka_offset) * from ${source}`;
  // The merged file keeps the promise of unique trade ids when every id is there once (see unique_ids.ts).
  const [unique] = await rowsOf(duckdb, `select (count(*) = count(distinct trade_id))::integer from (${merged})`);
  const options = ["format parquet", "compression zstd", ...(unique === 1 ? [UNIQUE_TRADE_IDS_OPTION] : [])];
  const written = await duckdb.connection.run(
    `copy (select * from (${merged}) order by trade_id, kafka_partition, kafka_offset) ` +
      `to ${sqlString(temporary)} (${options.join(", ")})`,
  );
  await fsync(temporary);
  const published = await withLakeLock(lakeDir, "exclusive", async () => {
    // Another compaction may have merged these inputs meanwhile: then this merge is redundant.
    if (!(await Promise.all(inputs.map(exists))).every(Boolean)) return false;
    await Deno.rename(temporary, final);
    for (const input of inputs) await Deno.remove(input);
    await fsync(hour.path);
    return true;
  });
  if (!published) {
    await Deno.remove(temporary);
    return { rows: 0, inputRows: 0 };
  }
  return { rows: Number(written.rowsChanged), inputRows: inputRows! };
}

/** Removes temporary files a crashed compaction left in `dir` more than an hour ago. */
async function removeStaleTemporaries(dir: string, nowMs: number): Promise<void> {
  for (const name of await fileNames(dir)) {
    if (!/^\.compact-[0-9a-f]{16}\.parquet\.[0-9a-f]{8}\.tmp$/.test(name)) continue;
    const path = join(dir, name);
    const modifiedMs = (await Deno.stat(path)).mtime?.getTime() ?? nowMs;
    if (nowMs - modifiedMs > 3_600_000) await Deno.remove(path);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function rowsOf(duckdb: DuckDB, sql: string): Promise<number[]> {
  const reader = await duckdb.connection.runAndReadAll(sql);
  return reader.getRows().map((row) => Number(row[0]));
}
