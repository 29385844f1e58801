/**
 * Where a trade lives in the lake, and what its files are called. Pure.
 *
 * Layout: `<LAKE_DIR>/pair=<SYMBOL>/trade_date=YYYY-MM-DD/hour=HH/part-<kafka partition>-<first offset>.parquet`,
 * dated by the trade time in UTC. The file name is a function of the Kafka partition and the first offset it holds,
 * so writing the same records again replaces a file instead of adding one.
 */
import { join } from "node:path";

/** One Hive partition of the lake. */
export interface HivePartition {
  pair: string;
  /** YYYY-MM-DD (UTC). */
  tradeDate: string;
  /** 0-23 (UTC). */
  hour: number;
}

// Symbols become folder names: only these characters may, so `../../x` or `BTC/USDT` can never leave the lake.
const SAFE_PAIR = /^[A-Z0-9]{2,20}$/;

/** The partition of a trade of `symbol` at `tradeTimeUs` (µs since the epoch, UTC). */
export function hivePartitionOf(symbol: string, tradeTimeUs: number): HivePartition {
  if (!SAFE_PAIR.test(symbol)) {
    throw new RangeError(
      `Cannot place symbol ${JSON.stringify(symbol.slice(0, 40))} in the lake: expected 2-20 A-Z0-9`,
    );
  }
  const hourIndex = Math.floor(tradeTimeUs / US_PER_HOUR);
  let hour = lastHour.index === hourIndex ? lastHour : undefined;
  if (hour === undefined) {
    const iso = new Date(hourIndex * MS_PER_HOUR).toISOString(); // throws RangeError beyond year 275760
    hour = lastHour = { index: hourIndex, tradeDate: iso.slice(0, 10), hour: Number(iso.slice(11, 13)) };
  }
  return { pair: symbol, tradeDate: hour.tradeDate, hour: hour.hour };
}

const MS_PER_HOUR = 3_600_000;
const US_PER_HOUR = 3_600_000_000;
// The consumer places every trade: consecutive trades almost always share an hour, so its date text is made once.
let lastHour = { index: Number.NaN, tradeDate: "", hour: 0 };

/** A stable key for grouping rows by partition. */
export function partitionKey(partition: HivePartition): string {
  return `${partition.pair}/${partition.tradeDate}/${partition.hour}`;
}

/** The folder of a partition under `lakeDir`. */
export function partitionDir(lakeDir: string, partition: HivePartition): string {
  const hour = String(partition.hour).padStart(2, "0");
  return join(lakeDir, `pair=${partition.pair}`, `trade_date=${partition.tradeDate}`, `hour=${hour}`);
}

/** `part-<kafka partition>-<first offset, 20 digits>.parquet`. */
export function lakeFileName(kafkaPartition: number, firstOffset: bigint): string {
  return `part-${kafkaPartition}-${String(firstOffset).padStart(20, "0")}.parquet`;
}

/** The Kafka partition and first offset in a lake file name, or undefined for any other file. */
export function parseLakeFileName(name: string): { kafkaPartition: number; firstOffset: bigint } | undefined {
  const match = /^part-(\d{1,5})-(\d{20})\.parquet$/.exec(name);
  return match ? { kafkaPartition: Number(match[1]), firstOffset: BigInt(match[2]!) } : undefined;
}
