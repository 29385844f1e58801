/**
 * Lake rows → DuckDB data chunks for the writer's staging table, column by column into typed arrays that are
 * copied into DuckDB's vectors whole.
 *
 * Setting values one by one through @duckdb/node-api costs about 1 µs a row: a DECIMAL goes through a BigInt and an
 * object, and every value of a column with a null in it through BigInt bit masks. Here a row costs about 0.35 µs.
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
  VARCHAR,
} from "@duckdb/node-api";
import { DECIMALS, parseUnits } from "../decimal.ts";
import type { LakeRow } from "./decode.ts";

/** Rows per chunk: DuckDB's vector size. */
export const CHUNK_ROWS = 2048;

/** Width of the lake's DECIMAL columns (price and quantity): DECIMAL(20, 8), a 128-bit integer of 10⁻⁸ units. */
export const MONEY_WIDTH = 20;
const MONEY = new DuckDBDecimalType(MONEY_WIDTH, DECIMALS);

// One Hive partition's rows at a time: the pair, date and hour are in the folder name, not in the file. Ids and
// times are safe integers (decode checks), exact in a DOUBLE, and cast back to BIGINT when written; the time unit is
// a flag, because strings are the one kind of value still set one by one.
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
];
const TYPES = STAGING_COLUMNS.map(([, type]) => type);
const PRODUCER_ID_COLUMN = 11;

const TWO_TO_32 = 4_294_967_296;
const CHAR_0 = 0x30;
const CHAR_POINT = 0x2e;
// At most this many whole digits, a decimal's units stay below 2⁵³ and are exact in a number.
const MAX_EXACT_WHOLE_DIGITS = 7;

/**
 * Writes the units (10⁻⁸) of `text`, a plain non-negative decimal with at most 8 decimals, as a little-endian
 * 128-bit integer at `words[at..at+3]`: DuckDB's layout of a DECIMAL(20, 8).
 */
export function writeDecimalUnits(text: string, words: Uint32Array, at: number): void {
  let units = 0;
  let fractionDigits = -1;
  let wholeDigits = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === CHAR_POINT) {
      fractionDigits = 0;
      continue;
    }
    units = units * 10 + (code - CHAR_0);
    if (fractionDigits === -1) wholeDigits++;
    else fractionDigits++;
  }
  if (wholeDigits > MAX_EXACT_WHOLE_DIGITS || fractionDigits > DECIMALS) {
    // Rare (a quantity of 10 million coins or more): exact through a BigInt. parseUnits refuses anything malformed.
    const big = parseUnits(text);
    new BigUint64Array(words.buffer, words.byteOffset + at * 4, 2).set([BigInt.asUintN(64, big), big >> 64n]);
    return;
  }
  units *= 10 ** (DECIMALS - Math.max(fractionDigits, 0));
  words[at] = units >>> 0;
  words[at + 1] = Math.floor(units / TWO_TO_32);
  words[at + 2] = 0;
  words[at + 3] = 0;
}

/** Reusable column buffers for one chunk; fills a chunk from rows. */
export class StagingChunks {
  readonly #tradeIds = new Float64Array(CHUNK_ROWS);
  readonly #prices = new Uint32Array(CHUNK_ROWS * 4);
  readonly #quantities = new Uint32Array(CHUNK_ROWS * 4);
  readonly #tradeTimes = new Float64Array(CHUNK_ROWS);
  readonly #eventTimes = new Float64Array(CHUNK_ROWS);
  readonly #eventTimesValid = new Uint32Array(CHUNK_ROWS / 32);
  readonly #unitIsUs = new Uint8Array(CHUNK_ROWS);
  readonly #buyerMakers = new Uint8Array(CHUNK_ROWS);
  readonly #bestMatches = new Uint8Array(CHUNK_ROWS);
  readonly #bestMatchesValid = new Uint32Array(CHUNK_ROWS / 32);
  readonly #ingestedAt = new Float64Array(CHUNK_ROWS);
  readonly #backfilled = new Uint8Array(CHUNK_ROWS);
  readonly #schemaVersions = new Int32Array(CHUNK_ROWS);
  readonly #offsets = new BigInt64Array(CHUNK_ROWS);
  readonly #noneValid = new Uint32Array(CHUNK_ROWS / 32);

  /** Chunks holding `rows`, in order, each at most {@link CHUNK_ROWS} rows. */
  *chunks(rows: readonly LakeRow[]): Generator<DuckDBDataChunk> {
    for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
      yield this.#fill(rows, start, Math.min(CHUNK_ROWS, rows.length - start));
    }
  }

  #fill(rows: readonly LakeRow[], start: number, count: number): DuckDBDataChunk {
    this.#eventTimesValid.fill(0);
    this.#bestMatchesValid.fill(0);
    let allEventTimes = true;
    let allBestMatches = true;
    let anyProducerId = false;
    for (let i = 0; i < count; i++) {
      const row = rows[start + i]!;
      this.#tradeIds[i] = row.tradeId;
      writeDecimalUnits(row.price, this.#prices, i * 4);
      writeDecimalUnits(row.quantity, this.#quantities, i * 4);
      this.#tradeTimes[i] = row.tradeTimeUs;
      if (row.eventTimeUs === null) allEventTimes = false;
      else {
        this.#eventTimes[i] = row.eventTimeUs;
        this.#eventTimesValid[i >>> 5]! |= 1 << (i & 31);
      }
      this.#unitIsUs[i] = row.timeUnit === "us" ? 1 : 0;
      this.#buyerMakers[i] = row.isBuyerMaker ? 1 : 0;
      if (row.isBestMatch === null) allBestMatches = false;
      else {
        this.#bestMatches[i] = row.isBestMatch ? 1 : 0;
        this.#bestMatchesValid[i >>> 5]! |= 1 << (i & 31);
      }
      this.#ingestedAt[i] = row.ingestedAtMs;
      this.#backfilled[i] = row.isBackfilled ? 1 : 0;
      this.#schemaVersions[i] = row.schemaVersion;
      if (row.producerId !== null) anyProducerId = true;
      this.#offsets[i] = row.kafkaOffset;
    }

    const chunk = DuckDBDataChunk.create(TYPES, count);
    const setValidity = (column: number, valid: Uint32Array) => {
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(vector, 0, valid.buffer as ArrayBuffer, valid.byteOffset, valid.byteLength);
    };
    const copy = (column: number, data: ArrayBufferView, bytesPerRow: number, valid?: Uint32Array) => {
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
      duckdb.copy_data_to_vector(vector, 0, data.buffer as ArrayBuffer, data.byteOffset, count * bytesPerRow);
      if (valid !== undefined) setValidity(column, valid);
    };
    copy(0, this.#tradeIds, 8);
    copy(1, this.#prices, 16);
    copy(2, this.#quantities, 16);
    copy(3, this.#tradeTimes, 8);
    copy(4, this.#eventTimes, 8, allEventTimes ? undefined : this.#eventTimesValid);
    copy(5, this.#unitIsUs, 1);
    copy(6, this.#buyerMakers, 1);
    copy(7, this.#bestMatches, 1, allBestMatches ? undefined : this.#bestMatchesValid);
    copy(8, this.#ingestedAt, 8);
    copy(9, this.#backfilled, 1);
    copy(10, this.#schemaVersions, 4);
    if (anyProducerId) {
      chunk.setColumnValues(PRODUCER_ID_COLUMN, rows.slice(start, start + count).map((row) => row.producerId));
    } else {
      setValidity(PRODUCER_ID_COLUMN, this.#noneValid);
    }
    copy(12, this.#offsets, 8);
    return chunk;
  }
}
