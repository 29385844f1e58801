/**
 * The dead-letter queue in the lake: its rows, its Parquet columns (defined once, for the writer and the
 * warehouse's empty placeholder) and where its files go. Pure.
 *
 * Layout: `<LAKE_DIR>/_dlq/received_date=YYYY-MM-DD/dlq-<kafka partition>-<first offset, 20 digits>.parquet`, dated
 * by `received_at` in UTC. The `_` prefix keeps the folder out of the trades' `pair=*` glob and out of pyarrow's
 * dataset discovery; the file name is a function of the DLQ topic's partition and first offset, so a replay
 * replaces a file instead of adding one.
 */
import { join } from "node:path";

/** Where each DLQ record was refused: by the producer (validation) or the consumer (decoding). */
export type DlqStage = "producer" | "consumer" | "unknown";

/** One record of crypto.trades.dlq.v1 as the lake stores it. */
export interface DlqRow {
  /** When the record was refused, ms since the epoch (UTC); the Kafka timestamp for an undecodable record. */
  receivedAtMs: number;
  reason: string;
  detail: string;
  stage: DlqStage;
  symbol: string | null;
  /** The refused input, already cut by whoever sent it. */
  raw: string;
  rawLength: number;
  rawTruncated: boolean;
  /** The crypto.trades.v1 record a consumer-stage event came from; null for producer-stage events. */
  sourcePartition: number | null;
  sourceOffset: bigint | null;
  schemaVersion: number | null;
  kafkaPartition: number;
  kafkaOffset: bigint;
}

/** A value as the Parquet writer appends it: TIMESTAMP columns as µs since the epoch. */
export type DlqValue = string | number | bigint | boolean | null;

/** One column of every DLQ file. */
export interface DlqColumn {
  name: string;
  type: "TIMESTAMP" | "VARCHAR" | "BOOLEAN" | "INTEGER" | "BIGINT";
  value: (row: DlqRow) => DlqValue;
}

/** The columns of every DLQ file, in file order. */
export const DLQ_COLUMNS: readonly DlqColumn[] = [
  { name: "received_at", type: "TIMESTAMP", value: (r) => BigInt(r.receivedAtMs) * 1000n },
  { name: "reason", type: "VARCHAR", value: (r) => r.reason },
  { name: "detail", type: "VARCHAR", value: (r) => r.detail },
  { name: "stage", type: "VARCHAR", value: (r) => r.stage },
  { name: "symbol", type: "VARCHAR", value: (r) => r.symbol },
  { name: "raw", type: "VARCHAR", value: (r) => r.raw },
  { name: "raw_length", type: "BIGINT", value: (r) => BigInt(r.rawLength) },
  { name: "raw_truncated", type: "BOOLEAN", value: (r) => r.rawTruncated },
  { name: "source_partition", type: "INTEGER", value: (r) => r.sourcePartition },
  { name: "source_offset", type: "BIGINT", value: (r) => r.sourceOffset },
  { name: "schema_version", type: "INTEGER", value: (r) => r.schemaVersion },
  { name: "kafka_partition", type: "INTEGER", value: (r) => r.kafkaPartition },
  { name: "kafka_offset", type: "BIGINT", value: (r) => r.kafkaOffset },
];

/** `name TYPE, …` for `create table`. */
export function dlqColumnDefinitions(): string {
  return DLQ_COLUMNS.map((column) => `${column.name} ${column.type}`).join(", ");
}

/** A query with the DLQ files' columns and no rows: what the warehouse reads when the lake has no DLQ file. */
export function emptyDlqSelect(): string {
  return `select ${DLQ_COLUMNS.map((column) => `null::${column.type} as ${column.name}`).join(", ")} where false`;
}

/** The folder under the lake holding every DLQ file. */
export const DLQ_FOLDER = "_dlq";

/** `YYYY-MM-DD` (UTC) of `ms`. */
export function receivedDateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The folder of the DLQ files received on `receivedDate` (YYYY-MM-DD). */
export function dlqDir(lakeDir: string, receivedDate: string): string {
  return join(lakeDir, DLQ_FOLDER, `received_date=${receivedDate}`);
}

/** `dlq-<kafka partition>-<first offset, 20 digits>.parquet`. */
export function dlqFileName(kafkaPartition: number, firstOffset: bigint): string {
  return `dlq-${kafkaPartition}-${String(firstOffset).padStart(20, "0")}.parquet`;
}

/** The Kafka partition and first offset in a DLQ file name, or undefined for any other file. */
export function parseDlqFileName(name: string): { kafkaPartition: number; firstOffset: bigint } | undefined {
  const match = /^dlq-(\d{1,5})-(\d{20})\.parquet$/.exec(name);
  return match ? { kafkaPartition: Number(match[1]), firstOffset: BigInt(match[2]!) } : undefined;
}
