/**
 * A generated lake for the refresh benchmark: contiguous trade ids per symbol, evenly spaced in time, in the same
 * Hive layout and column types the consumer writes. Pure (SQL generation); DuckDB writes the files.
 */
import { UNIQUE_TRADE_IDS_OPTION } from "../lake/storage/unique_ids.ts";

/** One generated symbol. */
export interface GeneratedSymbol {
  pair: string;
  kafkaPartition: number;
  /** Price level around which the generated price moves. */
  basePrice: number;
}

export const BENCH_SYMBOLS: readonly GeneratedSymbol[] = [
  { pair: "BTCUSDT", kafkaPartition: 0, basePrice: 60_000 },
  { pair: "ETHUSDT", kafkaPartition: 1, basePrice: 3_000 },
  { pair: "SOLUSDT", kafkaPartition: 2, basePrice: 150 },
];

/** Which trades to generate: ids `firstId` … `firstId + perSymbol - 1` of each symbol, `stepUs` apart. */
export interface GeneratedRange {
  perSymbol: number;
  firstId: number;
  /** Trade time of id 1, µs since the epoch (UTC). */
  startUs: number;
  stepUs: number;
}

/**
 * A `COPY` writing the trades of `range` into the lake at `lakeDir` (absolute), one file per symbol and hour named
 * `<prefix>-<uuid>.parquet`; `append` adds files to an existing lake. Each file holds its ids once and says so, as
 * the consumer's files do.
 */
export function generateLakeSql(lakeDir: string, range: GeneratedRange, prefix: string): string {
  const symbols = BENCH_SYMBOLS.map((s) => `('${s.pair}', ${s.kafkaPartition}, ${s.basePrice})`).join(", ");
  // Prices wander by a few percent (2 decimals), quantities are 1e-8 … 1 (8 decimals), both exact decimals.
  return `copy (
  select
    trade_id,
    round(base * (1 + 0.03 * sin(trade_id / 5000.0) + 0.002 * sin(trade_id / 7.0)), 2)::decimal(20, 8) as price,
    ((hash(pair, trade_id) % 100000000) + 1)::decimal(20, 8) / 100000000 as quantity,
    trade_time,
    trade_time + interval 2 millisecond as event_time,
    'ms' as time_unit,
    hash(trade_id, pair) % 2 = 0 as is_buyer_maker,
    true as is_best_match,
    trade_time + interval 40 millisecond as ingested_at,
    trade_time + interval 900 millisecond as lake_written_at,
    false as is_backfilled,
    1 as schema_version,
    kafka_partition,
    trade_id - 1 as kafka_offset,
    pair,
    strftime(trade_time, '%Y-%m-%d') as trade_date,
    strftime(trade_time, '%H') as hour
  from (
    select pair, kafka_partition, base, ${range.firstId} + r.range as trade_id,
      make_timestamp(${range.startUs}::bigint + (${range.firstId} + r.range - 1) * ${range.stepUs}::bigint) as trade_time
    from (values ${symbols}) as s(pair, kafka_partition, base)
    cross join range(${range.perSymbol}) as r
  )
) to '${lakeDir.replaceAll("'", "''")}' (format parquet, compression zstd, ${UNIQUE_TRADE_IDS_OPTION},
  partition_by (pair, trade_date, hour),
  filename_pattern '${prefix}-{uuid}', append)`;
}

/** The floor: candles and order flow for every minute as one statement straight over the lake. */
export function floorSql(lakeGlob: string): string {
  return `select
  pair,
  date_trunc('minute', trade_time) as minute_at,
  arg_min(price, trade_id) as open, max(price) as high, min(price) as low, arg_max(price, trade_id) as close,
  sum(quantity) as volume, sum(price * quantity) as quote_volume, count(*) as trade_count,
  sum(price * quantity) / sum(quantity) as vwap,
  sum(quantity) filter (where not is_buyer_maker) as buy_volume,
  sum(quantity) filter (where is_buyer_maker) as sell_volume,
  sum(price * quantity) filter (where not is_buyer_maker) as buy_quote_volume,
  sum(price * quantity) filter (where is_buyer_maker) as sell_quote_volume,
  count(*) filter (where not is_buyer_maker) as buy_count,
  count(*) filter (where is_buyer_maker) as sell_count
from read_parquet('${lakeGlob.replaceAll("'", "''")}', hive_partitioning = true, union_by_name = true)
group by all`;
}
