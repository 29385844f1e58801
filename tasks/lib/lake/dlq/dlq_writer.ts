/**
 * Writes DLQ rows as Parquet through DuckDB, the way {@link LakeWriter} writes trades: one file per received date
 * per flush, made durable and visible atomically (temporary name → fsync → rename → fsync of the folder).
 *
 * DuckDB's native code is outside Deno's sandbox, so the connection confines itself to the lake folder.
 */
import { type DuckDBAppender, DuckDBTimestampValue } from "@duckdb/node-api";
import { type DuckDB, openConfinedDuckDB } from "../../duckdb.ts";
import { writeParquetFile } from "../storage/durable.ts";
import { DLQ_COLUMNS, dlqColumnDefinitions, dlqDir, dlqFileName, type DlqRow, receivedDateOf } from "./dlq_schema.ts";
import { PublishRefusedError } from "../writing/parquet_writer.ts";
import type { RowWriter, Written } from "../writing/lake_sink.ts";

/** Writes DLQ Parquet files under `<lakeDir>/_dlq/`. */
export class DlqWriter implements RowWriter<DlqRow> {
  private constructor(readonly lakeDir: string, private readonly duckdb: DuckDB) {}

  /** Opens DuckDB confined to `lakeDir` (created if missing). */
  static async open(lakeDir: string): Promise<DlqWriter> {
    await Deno.mkdir(lakeDir, { recursive: true });
    const root = await Deno.realPath(lakeDir);
    const duckdb = await openConfinedDuckDB(":memory:", { allowedPaths: [`${root}/`], threads: 1 });
    await duckdb.connection.run(`create table staging (${dlqColumnDefinitions()})`);
    return new DlqWriter(root, duckdb);
  }

  /**
   * Writes `rows` (all from one partition of the DLQ topic, `firstOffset` the lowest) and returns the files now
   * visible, one per received date. A file replaces any earlier file of the same name. When `mayPublish` says no,
   * the temporary file is removed and {@link PublishRefusedError} thrown.
   */
  async write(
    rows: DlqRow[],
    kafkaPartition: number,
    firstOffset: bigint,
    _writtenAtMs: number,
    mayPublish: () => boolean = () => true,
  ): Promise<Written> {
    const connection = this.duckdb.connection;
    const written: string[] = [];
    for (const [date, group] of Map.groupBy(rows, (row) => receivedDateOf(row.receivedAtMs))) {
      await connection.run("delete from staging");
      const appender = await connection.createAppender("staging");
      for (const row of group) appendRow(appender, row);
      appender.flushSync();
      appender.closeSync();
      const file = await writeParquetFile(
        connection,
        "select * from staging order by kafka_offset",
        dlqDir(this.lakeDir, date),
        dlqFileName(kafkaPartition, firstOffset),
        mayPublish,
      );
      if (file === undefined) throw new PublishRefusedError(kafkaPartition);
      written.push(file);
    }
    return { files: written, rows: rows.length };
  }

  /** Releases DuckDB. */
  close(): void {
    this.duckdb.close();
  }
}

function appendRow(appender: DuckDBAppender, row: DlqRow): void {
  for (const column of DLQ_COLUMNS) {
    const value = column.value(row);
    if (value === null) appender.appendNull();
    else if (column.type === "TIMESTAMP") appender.appendTimestamp(new DuckDBTimestampValue(value as bigint));
    else if (column.type === "VARCHAR") appender.appendVarchar(value as string);
    else if (column.type === "BOOLEAN") appender.appendBoolean(value as boolean);
    else if (column.type === "INTEGER") appender.appendInteger(value as number);
    else appender.appendBigInt(value as bigint);
  }
  appender.endRow();
}
