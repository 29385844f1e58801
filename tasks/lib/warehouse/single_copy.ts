/**
 * Which lake files need no deduplication. Deduplicating every trade (a window over all of them) was the largest
 * cost of a full refresh, yet copies of a trade are rare: a producer retry or a backfill overlapping the stream.
 * Copies of a trade always sit in the same hour folder (it derives from the trade's own time), so a file that holds
 * each of its ids once (its writer says so, see lake/storage/unique_ids.ts) and whose id range overlaps no other file of
 * its folder cannot hold a copy of any trade. Only the other files' trades go through deduplication.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { dirname } from "node:path";
import { sqlStringList } from "../duckdb.ts";
import type { LakeFile } from "../lake/storage/listing.ts";
import { UNIQUE_TRADE_IDS } from "../lake/storage/unique_ids.ts";

/** What a file's Parquet footer says about its trade ids. */
export interface LakeFileIds {
  path: string;
  /** From the row groups' statistics; undefined when the file has no rows or no statistics. */
  minTradeId?: number;
  maxTradeId?: number;
  /** The writer's promise that each id is in the file once. */
  uniqueIds: boolean;
}

/** The paths of the files whose trades no other file can repeat, and which repeat none themselves. */
export function singleCopyFiles(files: readonly LakeFileIds[]): string[] {
  const single: string[] = [];
  for (const folder of Map.groupBy(files, (file) => dirname(file.path)).values()) {
    const ranged = folder.filter((f) => f.minTradeId !== undefined && f.maxTradeId !== undefined)
      .sort((a, b) => a.minTradeId! - b.minTradeId!);
    // Sorted by first id, a file overlaps an earlier one when some earlier file reaches its first id, and a later
    // one when the next file starts within it.
    let reachedBefore = -Infinity;
    ranged.forEach((file, i) => {
      const next = ranged[i + 1];
      const overlaps = reachedBefore >= file.minTradeId! ||
        (next !== undefined && next.minTradeId! <= file.maxTradeId!);
      if (file.uniqueIds && !overlaps) single.push(file.path);
      reachedBefore = Math.max(reachedBefore, file.maxTradeId!);
    });
  }
  return single.sort();
}

/**
 * The trade-id facts of lake files, each version of a file read from its footer once: a refresh records them beside
 * the files it saw (meta.lake_files), and the next one reuses those of files whose size and modification time have
 * not changed. A live hour holds thousands of small files, and an incremental refresh reads it every few minutes.
 */
export class LakeFileIdsCache {
  readonly #known = new Map<string, LakeFileIds>();

  /** Keeps the `recorded` facts of files still in the lake (`current`) unchanged. */
  constructor(recorded: readonly (LakeFile & { ids?: LakeFileIds })[], current: readonly LakeFile[]) {
    const now = new Map(current.map((file) => [file.path, file]));
    for (const file of recorded) {
      const same = now.get(file.path);
      if (file.ids && same && same.bytes === file.bytes && same.modifiedMs === file.modifiedMs) {
        this.#known.set(file.path, file.ids);
      }
    }
  }

  /** The facts of `paths`, reading the footers of those not known yet. */
  async of(connection: DuckDBConnection, paths: readonly string[]): Promise<LakeFileIds[]> {
    const unknown = paths.filter((path) => !this.#known.has(path));
    if (unknown.length > 0) {
      for (const ids of await readLakeFileIds(connection, unknown)) this.#known.set(ids.path, ids);
    }
    return paths.flatMap((path) => this.#known.get(path) ?? []);
  }

  /** What is known of `path`, to record. */
  get(path: string): LakeFileIds | undefined {
    return this.#known.get(path);
  }
}

/** Reads the trade-id facts of `files` (paths or globs) from their Parquet footers. */
export async function readLakeFileIds(connection: DuckDBConnection, files: readonly string[]): Promise<LakeFileIds[]> {
  const list = sqlStringList(files);
  const reader = await connection.runAndReadAll(`
    with ranges as (
      -- a row group without statistics leaves the file's range unknown
      select
        file_name,
        case when bool_and(stats_min_value is not null and stats_max_value is not null)
          then min(stats_min_value::bigint) end as min_id,
        case when bool_and(stats_min_value is not null and stats_max_value is not null)
          then max(stats_max_value::bigint) end as max_id
      from parquet_metadata(${list})
      where path_in_schema = 'trade_id'
      group by file_name
    ),
    marked as (
      select distinct file_name
      from parquet_kv_metadata(${list})
      where key = '${UNIQUE_TRADE_IDS.key}'::blob and value = '${UNIQUE_TRADE_IDS.value}'::blob
    )
    select ranges.file_name, min_id::double as min_id, max_id::double as max_id,
      marked.file_name is not null as unique_ids
    from ranges left join marked using (file_name)`);
  return reader.getRowObjectsJS().map((row) => ({
    path: String(row.file_name),
    ...(row.min_id === null ? {} : { minTradeId: Number(row.min_id) }),
    ...(row.max_id === null ? {} : { maxTradeId: Number(row.max_id) }),
    uniqueIds: row.unique_ids === true,
  }));
}
