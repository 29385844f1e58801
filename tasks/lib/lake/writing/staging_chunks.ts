/**
 * A flush's trade columns → DuckDB data chunks for the writer's staging table: each column's slice of a chunk is
 * copied into DuckDB's vector whole.
 *
 * Setting values one by one through @duckdb/node-api costs about 1 µs a row: a DECIMAL goes through a BigInt and an
 * object, and every value of a column with a null in it through BigInt bit masks.
 */
import duckdb from "@duckdb/node-bindings";
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBDecimalType,
  type DuckDBType,
  INTEGER,
  UTINYINT,
  VARCHAR,
} from "@duckdb/node-api";
import { DECIMALS } from "../../decimal.ts";
import type { TradeColumns } from "../decoding/trade_columns.ts";

/** Rows per chunk: DuckDB's vector size. */
export const CHUNK_ROWS = 2048;

/** Width of the lake's DECIMAL columns (price and quantity): DECIMAL(20, 8), a 128-bit integer of 10⁻⁸ units. */
const MONEY_WIDTH = 20;
const MONEY = new DuckDBDecimalType(MONEY_WIDTH, DECIMALS);

// A whole flush at a time, each row tagged with the index of its Hive partition: the pair, date and hour are in the
// folder name, not in the file, which is written from that partition's rows. Ids and times are safe integers (decode
// checks), exact in a DOUBLE, and cast back to BIGINT when written; the time unit is a flag, because strings are the
// one kind of value still set one by one.
/** The staging table's columns, in the order the chunks fill them. */
export const STAGING_COLUMNS: readonly (readonly [string, DuckDBType])[] = [
  ["trade_id", DOUBLE],
  ["price", MONEY],
  ["quantity", MONEY],
  ["trade_time_us", DOUBLE],
  ["event_time_us", DOUBLE],
  ["time_unit_is_us", BOOLEAN],
  ["is_buyer_maker", BOOLEAN],
  ["is_best_match", BOOLEAN],
  ["ingested_at_ms", DOUBLE],
  ["is_backfilled", BOOLEAN],
  ["schema_version", INTEGER],
  ["producer_id", VARCHAR],
  ["kafka_offset", BIGINT],
  ["partition_index", INTEGER],
  ["trade_type_code", UTINYINT],
  ["source_prev_trade_id", DOUBLE],
];
const PRODUCER_ID_COLUMN = 11;

const TYPES = STAGING_COLUMNS.map(([, type]) => type);

/** The chunks holding `columns`' rows, in order, each at most {@link CHUNK_ROWS} rows. */
export function* stagingChunks(columns: TradeColumns): Generator<DuckDBDataChunk> {
  const validity = new Uint32Array(CHUNK_ROWS / 32);
  for (let start = 0; start < columns.length; start += CHUNK_ROWS) {
    const count = Math.min(CHUNK_ROWS, columns.length - start);
    const chunk = DuckDBDataChunk.create(TYPES, count);
    const vector = (column: number) => duckdb.data_chunk_get_vector(chunk.chunk, column);
    const copy = (column: number, data: ArrayBufferView, bytesPerRow: number) => {
      const { buffer, byteOffset } = data;
      duckdb.copy_data_to_vector(
        vector(column),
        0,
        buffer as ArrayBuffer,
        byteOffset + start * bytesPerRow,
        count * bytesPerRow,
      );
    };
    // Bit i of the mask says row start + i is not null; DuckDB reads it as 64-bit words, little-endian.
    const setValidity = (column: number, present: Uint8Array | undefined) => {
      validity.fill(0);
      if (present) { for (let i = 0; i < count; i++) if (present[start + i]) validity[i >>> 5]! |= 1 << (i & 31); }
      duckdb.vector_ensure_validity_writable(vector(column));
      duckdb.copy_data_to_vector_validity(vector(column), 0, validity.buffer, 0, validity.byteLength);
    };
    copy(0, columns.tradeIds, 8);
    copy(1, columns.prices, 16);
    copy(2, columns.quantities, 16);
    copy(3, columns.tradeTimesUs, 8);
    copy(4, columns.eventTimesUs, 8);
    if (columns.counts.withoutEventTime > 0) setValidity(4, columns.hasEventTime);
    copy(5, columns.timeUnitIsUs, 1);
    copy(6, columns.buyerMakers, 1);
    copy(7, columns.bestMatches, 1);
    if (columns.counts.withoutBestMatch > 0) setValidity(7, columns.hasBestMatch);
    copy(8, columns.ingestedAtMs, 8);
    copy(9, columns.backfilled, 1);
    copy(10, columns.schemaVersions, 4);
    if (columns.counts.withProducerId > 0) {
      chunk.setColumnValues(PRODUCER_ID_COLUMN, columns.producerIds.slice(start, start + count));
    } else {
      setValidity(PRODUCER_ID_COLUMN, undefined);
    }
    copy(12, columns.kafkaOffsets, 8);
    copy(13, columns.partitionIndexes, 4);
    copy(14, columns.tradeTypeCodes, 1);
    copy(15, columns.sourcePrevTradeIds, 8);
    setValidity(15, columns.counts.withSourcePrevTradeId > 0 ? columns.hasSourcePrevTradeId : undefined);
    yield chunk;
  }
}
