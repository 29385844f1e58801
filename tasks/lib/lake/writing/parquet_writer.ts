/**
 * Writes lake rows as Parquet through DuckDB: one file per Hive partition per flush, made durable and visible
 * atomically (temporary name → fsync → rename → fsync of the folder).
 *
 * DuckDB's native code is outside Deno's sandbox, so the connection confines itself to the lake folder.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { type DuckDB, openConfinedDuckDB } from "../../duckdb.ts";
import { publishSynced, writeTemporaryParquetFile, type WrittenFile } from "../storage/durable.ts";
import { ensureLakeLockFile } from "../storage/lake_lock.ts";
import type { LakeRow } from "../decoding/lake_row.ts";
import type { Written } from "./lake_sink.ts";
import { lakeFileName, partitionDir } from "../storage/partition.ts";
import { STAGING_COLUMNS, stagingChunks } from "./staging_chunks.ts";
import { TradeColumns } from "../decoding/trade_columns.ts";
import { allDifferent, UNIQUE_TRADE_IDS_OPTION } from "../storage/unique_ids.ts";
import { FUTURES_TRADE_TYPES } from "../../market.ts";

// Code 0 (spot) indexes past the list's end: null. DuckDB lists count from 1.
const TRADE_TYPE_OF_CODE = `[${FUTURES_TRADE_TYPES.map((type) => `'${type}'`).join(", ")}][trade_type_code]`;

/** The columns of every lake file, as DuckDB computes them from the staging table. */
export function lakeSelectList(writtenAtMs: number, withProducerId: boolean, kafkaPartition: number): string {
  return [
    "trade_id::bigint as trade_id",
    "price",
    "quantity",
    "make_timestamp(trade_time_us::bigint) as trade_time",
    "make_timestamp(event_time_us::bigint) as event_time",
    "case when time_unit_is_us then 'us' else 'ms' end as time_unit",
    "is_buyer_maker",
    "is_best_match",
    `${TRADE_TYPE_OF_CODE}::varchar as trade_type`,
    "source_prev_trade_id::bigint as source_prev_trade_id",
    "make_timestamp(ingested_at_ms::bigint * 1000) as ingested_at",
    `make_timestamp(${Math.trunc(writtenAtMs)}::bigint * 1000) as lake_written_at`,
    "is_backfilled",
    // where the row came from: live stream, REST backfill, or (written by the importer) the exchange's archive
    "case when is_backfilled then 'rest_backfill' else 'live' end as provenance",
    "schema_version",
    ...(withProducerId ? ["producer_id"] : []),
    `${Math.trunc(kafkaPartition)}::integer as kafka_partition`,
    "kafka_offset",
  ].join(", ");
}

/** A write stopped before publishing a file, because the partition is no longer this writer's. */
export class PublishRefusedError extends Error {
  constructor(readonly partition: number) {
    super(`Stopped writing partition ${partition}: it now belongs to another consumer`);
    this.name = "PublishRefusedError";
  }
}

/**
 * Publishes written files one by one (see {@link publishSynced}) and returns their final paths. When `mayPublish`
 * says no, the rest are removed and {@link PublishRefusedError} thrown.
 */
export async function publishAll(
  files: readonly WrittenFile[],
  kafkaPartition: number,
  mayPublish: () => boolean,
): Promise<string[]> {
  const published: string[] = [];
  for (const [index, file] of files.entries()) {
    if (!await publishSynced(file, mayPublish)) {
      await removeTemporaries(files.slice(index + 1));
      throw new PublishRefusedError(kafkaPartition);
    }
    published.push(file.final);
  }
  return published;
}

/** Removes temporary files that will not be published; one already gone is fine. */
export async function removeTemporaries(files: readonly WrittenFile[]): Promise<void> {
  for (const { temporary } of files) {
    await Deno.remove(temporary).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

/** Writes Parquet files into one lake folder. */
export class LakeWriter {
  private constructor(
    readonly lakeDir: string,
    private readonly duckdb: DuckDB,
  ) {}

  private get connection(): DuckDBConnection {
    return this.duckdb.connection;
  }

  /** Opens DuckDB confined to `lakeDir` (created if missing). */
  static async open(lakeDir: string): Promise<LakeWriter> {
    await Deno.mkdir(lakeDir, { recursive: true });
    const root = await Deno.realPath(lakeDir);
    await ensureLakeLockFile(root);
    const duckdb = await openConfinedDuckDB(":memory:", { allowedPaths: [`${root}/`], threads: 1 });
    const columns = STAGING_COLUMNS.map(([name, type]) => `${name} ${type.toString()}`).join(", ");
    await duckdb.connection.run(`create table staging (${columns})`);
    return new LakeWriter(root, duckdb);
  }

  /**
   * Writes `rows` (all from one Kafka partition, `firstOffset` the lowest) and returns the files now visible.
   * Each file replaces any earlier file of the same name, so a replay overwrites instead of duplicating.
   * `mayPublish` is asked just before each file becomes visible; when it says no (the partition moved to another
   * consumer), the temporary files are removed and {@link PublishRefusedError} thrown.
   */
  async write(
    rows: LakeRow[],
    kafkaPartition: number,
    firstOffset: bigint,
    writtenAtMs: number,
    mayPublish: () => boolean = () => true,
  ): Promise<Written> {
    const files = await this.writeTemporaries(TradeColumns.of(rows), kafkaPartition, firstOffset, writtenAtMs);
    return { files: await publishAll(files, kafkaPartition, mayPublish), rows: rows.length };
  }

  /**
   * The first half of {@link write}, from a flush's trade columns: one file per Hive partition, named after
   * `firstOffset`, written and fsynced under a temporary name for {@link publishAll}. A file whose trade ids are all
   * different says so in its metadata (see unique_ids.ts).
   */
  async writeTemporaries(
    columns: TradeColumns,
    kafkaPartition: number,
    firstOffset: bigint,
    writtenAtMs: number,
  ): Promise<WrittenFile[]> {
    if (columns.length === 0) return [];
    const written: WrittenFile[] = [];
    try {
      await this.connection.run("delete from staging");
      const appender = await this.connection.createAppender("staging");
      for (const chunk of stagingChunks(columns)) appender.appendDataChunk(chunk);
      appender.flushSync();
      appender.closeSync();
      const name = lakeFileName(kafkaPartition, firstOffset);
      for (const [index, partition] of columns.partitions.entries()) {
        const select = lakeSelectList(writtenAtMs, columns.hasProducerIdIn(index), kafkaPartition);
        const where = columns.partitions.length > 1 ? `where partition_index = ${index}` : "";
        const options = allDifferent(columns.tradeIdsIn(index)) ? [UNIQUE_TRADE_IDS_OPTION] : [];
        const query = `select ${select} from staging ${where} order by trade_id`;
        const dir = partitionDir(this.lakeDir, partition);
        written.push(await writeTemporaryParquetFile(this.connection, query, dir, name, options));
      }
    } catch (error) {
      await removeTemporaries(written);
      throw error;
    }
    return written;
  }

  /** Releases DuckDB. */
  close(): void {
    this.duckdb.close();
  }
}
