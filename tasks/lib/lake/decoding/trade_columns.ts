/**
 * One flush's trades, column by column in typed arrays, as DuckDB's staging table takes them. Pure.
 *
 * Each row is copied in as it is decoded, prices and quantities as exact 128-bit units: a flush of 100,000 rows is a
 * dozen arrays rather than 100,000 objects and 200,000 strings kept alive until written, which the garbage
 * collector had to copy and which cost more than decoding them.
 */
import { DECIMALS, parseUnits } from "../../decimal.ts";
import type { LakeRow } from "./lake_row.ts";
import type { HivePartition } from "../storage/partition.ts";
import { FUTURES_TRADE_TYPES, type FuturesTradeType } from "../../market.ts";

/** A trade type's code in {@link TradeColumns.tradeTypeCodes}: 0 for none (spot), else 1 + its index. */
export function tradeTypeCode(tradeType: FuturesTradeType | undefined): number {
  return tradeType === undefined ? 0 : FUTURES_TRADE_TYPES.indexOf(tradeType) + 1;
}

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

/** Trades of one flush, column by column, each row tagged with its Hive partition (its file). */
export class TradeColumns {
  length = 0;
  /** Ids and times are safe integers (decode checks), exact in a DOUBLE. */
  readonly tradeIds: Float64Array;
  /** 128-bit units, four words a row. */
  readonly prices: Uint32Array;
  readonly quantities: Uint32Array;
  readonly tradeTimesUs: Float64Array;
  readonly eventTimesUs: Float64Array;
  readonly hasEventTime: Uint8Array;
  readonly timeUnitIsUs: Uint8Array;
  readonly buyerMakers: Uint8Array;
  readonly bestMatches: Uint8Array;
  readonly hasBestMatch: Uint8Array;
  readonly ingestedAtMs: Float64Array;
  readonly backfilled: Uint8Array;
  readonly schemaVersions: Int32Array;
  readonly producerIds: (string | null)[] = [];
  /** See {@link tradeTypeCode}: a byte a row, because strings are set one by one. */
  readonly tradeTypeCodes: Uint8Array;
  readonly sourcePrevTradeIds: Float64Array;
  readonly hasSourcePrevTradeId: Uint8Array;
  readonly kafkaOffsets: BigInt64Array;
  /** Index into {@link partitions} of each row. */
  readonly partitionIndexes: Int32Array;
  /** The Hive partitions the rows fall in, in order of first appearance. */
  readonly partitions: HivePartition[] = [];
  /** Rows without an event time, without a best-match flag, and with a producer id. */
  readonly counts = {
    withoutEventTime: 0,
    withoutBestMatch: 0,
    withProducerId: 0,
    withTradeType: 0,
    withSourcePrevTradeId: 0,
  };

  constructor(readonly capacity: number) {
    this.tradeIds = new Float64Array(capacity);
    this.prices = new Uint32Array(capacity * 4);
    this.quantities = new Uint32Array(capacity * 4);
    this.tradeTimesUs = new Float64Array(capacity);
    this.eventTimesUs = new Float64Array(capacity);
    this.hasEventTime = new Uint8Array(capacity);
    this.timeUnitIsUs = new Uint8Array(capacity);
    this.buyerMakers = new Uint8Array(capacity);
    this.bestMatches = new Uint8Array(capacity);
    this.hasBestMatch = new Uint8Array(capacity);
    this.ingestedAtMs = new Float64Array(capacity);
    this.backfilled = new Uint8Array(capacity);
    this.schemaVersions = new Int32Array(capacity);
    this.tradeTypeCodes = new Uint8Array(capacity);
    this.sourcePrevTradeIds = new Float64Array(capacity);
    this.hasSourcePrevTradeId = new Uint8Array(capacity);
    this.kafkaOffsets = new BigInt64Array(capacity);
    this.partitionIndexes = new Int32Array(capacity);
  }

  /** The columns of `rows`. */
  static of(rows: readonly LakeRow[]): TradeColumns {
    const columns = new TradeColumns(rows.length);
    for (const row of rows) columns.push(row);
    return columns;
  }

  /** Appends a row. */
  push(row: LakeRow): void {
    const i = this.length++;
    if (i >= this.capacity) throw new RangeError(`TradeColumns holds at most ${this.capacity} rows`);
    this.tradeIds[i] = row.tradeId;
    writeDecimalUnits(row.price, this.prices, i * 4);
    writeDecimalUnits(row.quantity, this.quantities, i * 4);
    this.tradeTimesUs[i] = row.tradeTimeUs;
    if (row.eventTimeUs === null) {
      this.hasEventTime[i] = 0;
      this.counts.withoutEventTime++;
    } else {
      this.eventTimesUs[i] = row.eventTimeUs;
      this.hasEventTime[i] = 1;
    }
    this.timeUnitIsUs[i] = row.timeUnit === "us" ? 1 : 0;
    this.buyerMakers[i] = row.isBuyerMaker ? 1 : 0;
    if (row.isBestMatch === null) {
      this.hasBestMatch[i] = 0;
      this.counts.withoutBestMatch++;
    } else {
      this.bestMatches[i] = row.isBestMatch ? 1 : 0;
      this.hasBestMatch[i] = 1;
    }
    this.ingestedAtMs[i] = row.ingestedAtMs;
    this.backfilled[i] = row.isBackfilled ? 1 : 0;
    this.schemaVersions[i] = row.schemaVersion;
    this.producerIds[i] = row.producerId;
    if (row.producerId !== null) this.counts.withProducerId++;
    if (row.tradeType !== undefined) {
      this.tradeTypeCodes[i] = tradeTypeCode(row.tradeType);
      this.counts.withTradeType++;
    }
    if (row.sourcePrevTradeId !== undefined) {
      this.sourcePrevTradeIds[i] = row.sourcePrevTradeId;
      this.hasSourcePrevTradeId[i] = 1;
      this.counts.withSourcePrevTradeId++;
    }
    this.kafkaOffsets[i] = row.kafkaOffset;
    this.partitionIndexes[i] = this.#partitionIndex(row.partition);
  }

  /** The trade ids of the rows in partition `index`. */
  tradeIdsIn(index: number): Float64Array {
    if (this.partitions.length === 1) return this.tradeIds.subarray(0, this.length);
    const ids: number[] = [];
    for (let i = 0; i < this.length; i++) if (this.partitionIndexes[i] === index) ids.push(this.tradeIds[i]!);
    return Float64Array.from(ids);
  }

  /** Whether any row in partition `index` has a producer id (an envelope v2). */
  hasProducerIdIn(index: number): boolean {
    if (this.counts.withProducerId === 0) return false;
    for (let i = 0; i < this.length; i++) {
      if (this.partitionIndexes[i] === index && this.producerIds[i] !== null) return true;
    }
    return false;
  }

  // Consecutive rows almost always share a partition: compared with the last one before any lookup.
  #partitionIndex(partition: HivePartition): number {
    const last = this.partitions.length - 1;
    const previous = this.partitions[last];
    if (
      previous !== undefined && previous.pair === partition.pair && previous.hour === partition.hour &&
      previous.tradeDate === partition.tradeDate
    ) return last;
    const index = this.partitions.findIndex((known) =>
      known.pair === partition.pair && known.hour === partition.hour && known.tradeDate === partition.tradeDate
    );
    if (index !== -1) return index;
    this.partitions.push(partition);
    return this.partitions.length - 1;
  }
}
