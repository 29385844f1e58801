/** One trade as the lake stores it, whichever way it arrived. A type only: every reader and writer shares it. */
import type { HivePartition } from "../storage/partition.ts";
import type { FuturesTradeType } from "../../market.ts";

/** One trade as the lake stores it. */
export interface LakeRow {
  partition: HivePartition;
  tradeId: number;
  /** Exact decimal strings, cast to DECIMAL(20, 8) by DuckDB. */
  price: string;
  quantity: string;
  tradeTimeUs: number;
  eventTimeUs: number | null;
  /** The unit the exchange sent times in: `ms` or `us`. */
  timeUnit: "ms" | "us";
  isBuyerMaker: boolean;
  isBestMatch: boolean | null;
  /** The futures trade type (`X`); absent on spot, written as null. */
  tradeType?: FuturesTradeType;
  /**
   * The id the source listed just before this trade (envelope `source_prev_id`, or the archive's previous line):
   * ids between it and this one do not exist at the source. Absent on live trades, written as null.
   */
  sourcePrevTradeId?: number;
  ingestedAtMs: number;
  isBackfilled: boolean;
  schemaVersion: number;
  producerId: string | null;
  kafkaPartition: number;
  kafkaOffset: bigint;
}
