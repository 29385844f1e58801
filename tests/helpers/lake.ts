/** Small lakes for warehouse tests, written by the consumer's own writer. */
import type { LakeRow } from "../../tasks/lib/lake/decoding/decode.ts";
import { decodeDlqRecord } from "../../tasks/lib/lake/dlq/dlq_decode.ts";
import { DlqWriter } from "../../tasks/lib/lake/dlq/dlq_writer.ts";
import { LakeWriter } from "../../tasks/lib/lake/writing/parquet_writer.ts";
import { hivePartitionOf } from "../../tasks/lib/lake/storage/partition.ts";
import type { FuturesTradeType } from "../../tasks/lib/market.ts";

/** A trade as a test states it; everything else gets a sensible default. */
export interface FixtureTrade {
  pair: string;
  id: number;
  price: string;
  qty: string;
  /** Trade time, ms since the epoch (UTC). */
  timeMs: number;
  /** For a trade the exchange sent in microseconds (time unit `us`): the µs past timeMs, 0-999. Unset: sent in ms. */
  microsecondsPastMs?: number;
  /** Default false: the taker bought. */
  buyerMaker?: boolean;
  /** Default 50 ms after the trade's millisecond. */
  ingestDelayMs?: number;
  backfilled?: boolean;
  /** The producer of a v2 envelope. Unset: a v1 envelope, which has no producer_id. */
  producerId?: string;
  /** A futures trade's type (`X`): its best-match flag is then null, as on futures. Unset: a spot trade. */
  tradeType?: FuturesTradeType;
  /** The envelope's `source_prev_id` (a healed trade). Unset: none. */
  sourcePrevId?: number;
}

/** The lake row of a fixture trade at Kafka `offset`. */
export function lakeRow(trade: FixtureTrade, offset: number, kafkaPartition = 0): LakeRow {
  const tradeTimeUs = trade.timeMs * 1000 + (trade.microsecondsPastMs ?? 0);
  return {
    partition: hivePartitionOf(trade.pair, tradeTimeUs),
    tradeId: trade.id,
    price: trade.price,
    quantity: trade.qty,
    tradeTimeUs,
    eventTimeUs: trade.backfilled ? null : tradeTimeUs + 2000,
    timeUnit: trade.microsecondsPastMs === undefined ? "ms" : "us",
    isBuyerMaker: trade.buyerMaker ?? false,
    isBestMatch: trade.tradeType === undefined ? true : null,
    ...(trade.tradeType === undefined ? {} : { tradeType: trade.tradeType }),
    ...(trade.sourcePrevId === undefined ? {} : { sourcePrevTradeId: trade.sourcePrevId }),
    ingestedAtMs: trade.timeMs + (trade.ingestDelayMs ?? 50),
    isBackfilled: trade.backfilled ?? false,
    schemaVersion: trade.producerId === undefined ? 1 : 2,
    producerId: trade.producerId ?? null,
    kafkaPartition,
    kafkaOffset: BigInt(offset),
  };
}

/**
 * Writes `trades` into the lake at `lakeDir` (a market's dataset: `marketLakeDir(LAKE_DIR, market)`) as one flush of Kafka partition `kafkaPartition` starting at
 * `firstOffset` (one file per hour partition), the way the consumer would.
 */
export async function writeLake(
  lakeDir: string,
  trades: readonly FixtureTrade[],
  options: { firstOffset?: number; kafkaPartition?: number; writtenAtMs?: number } = {},
): Promise<void> {
  const first = options.firstOffset ?? 0;
  const rows = trades.map((trade, i) => lakeRow(trade, first + i, options.kafkaPartition ?? 0));
  const writer = await LakeWriter.open(lakeDir);
  try {
    await writer.write(rows, options.kafkaPartition ?? 0, BigInt(first), options.writtenAtMs ?? Date.now());
  } finally {
    writer.close();
  }
}

/**
 * Writes DLQ records (values as on crypto.trades.dlq.v1, `stage` the record's header, `atMs` its Kafka timestamp)
 * into the lake's _dlq folder as one flush of DLQ partition `kafkaPartition`, the way the consumer's DLQ sink would.
 */
export async function writeDlq(
  lakeDir: string,
  kafkaPartition: number,
  firstOffset: number,
  records: { value: string; stage?: string; atMs: number }[],
): Promise<void> {
  const rows = records.map((record, i) =>
    decodeDlqRecord({
      value: record.value,
      stageHeader: record.stage,
      timestampMs: record.atMs,
      kafkaPartition,
      kafkaOffset: BigInt(firstOffset + i),
    })
  );
  const writer = await DlqWriter.open(lakeDir);
  try {
    await writer.write(rows, kafkaPartition, BigInt(firstOffset), Date.now());
  } finally {
    writer.close();
  }
}
