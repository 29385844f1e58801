/**
 * The golden fixture: a lake from 2025-03-01 23:58 to 2025-03-02 00:01 UTC, crossing an hour and a day, and every
 * row of every mart it gives, worked out by hand. The lake holds a duplicated trade, a lower trade id at a higher
 * Kafka offset, trades at :59.999, a backfilled trade (a healed gap), gaps between and inside minutes, and v1 and v2
 * files.
 */
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlString } from "../../tasks/lib/duckdb.ts";
import { archiveFileName } from "../../tasks/lib/lake/archive/archive_lake_files.ts";
import { archiveRowsSelect } from "../../tasks/lib/lake/archive/import_sql.ts";
import { hivePartitionOf, lakeFileName, partitionDir } from "../../tasks/lib/lake/storage/partition.ts";
import { type Market, marketLakeDir } from "../../tasks/lib/market.ts";
import { UNIQUE_TRADE_IDS, UNIQUE_TRADE_IDS_OPTION } from "../../tasks/lib/lake/storage/unique_ids.ts";
import { type FixtureTrade, writeLake } from "./lake.ts";
import { makeTestDir } from "./tasks.ts";

/** One flush of the consumer: one Kafka partition from `firstOffset`, written at `writtenAtMs`. */
export interface GoldenFlush {
  trades: FixtureTrade[];
  kafkaPartition: number;
  firstOffset: number;
  writtenAtMs: number;
}

/** `YYYY-MM-DD HH:MM:SS.mmm` (UTC) in ms since the epoch. */
export function utcMs(time: string): number {
  return Date.parse(`${time.replace(" ", "T")}Z`);
}

function btc(
  id: number,
  time: string,
  price: string,
  qty: string,
  taker: "buy" | "sell",
  ingestDelayMs: number,
): FixtureTrade {
  return { pair: "BTCUSDT", id, timeMs: utcMs(time), price, qty, buyerMaker: taker === "sell", ingestDelayMs };
}

/** ETHUSDT comes in µs (`…:SS.mmmuuu`) and v2 envelopes. */
function eth(
  id: number,
  time: string,
  price: string,
  qty: string,
  taker: "buy" | "sell",
  ingestDelayMs: number,
): FixtureTrade {
  return {
    pair: "ETHUSDT",
    id,
    timeMs: utcMs(time.slice(0, -3)),
    microsecondsPastMs: Number(time.slice(-3)),
    price,
    qty,
    buyerMaker: taker === "sell",
    ingestDelayMs,
    producerId: "producer-a",
  };
}

const b102 = btc(102, "2025-03-01 23:59:20.500", "60010.00", "0.25000", "sell", 60);

/** The live v1 stream of BTCUSDT: 104 reaches Kafka before 103, and 107-108 never arrive (a gap between minutes). */
export const LIVE_V1: GoldenFlush = {
  trades: [
    btc(98, "2025-03-01 23:58:10.000", "59950.00", "0.01000", "sell", 50),
    btc(100, "2025-03-01 23:58:59.999", "59970.00", "0.03000", "buy", 50),
    btc(101, "2025-03-01 23:59:05.000", "60000.10", "0.50000", "buy", 50),
    b102,
    btc(104, "2025-03-01 23:59:40.000", "59990.50", "1.00000", "buy", 70),
    btc(103, "2025-03-01 23:59:30.000", "60020.00", "0.10000", "sell", 120),
    // two trades of one match: the same time, so the id decides open and close
    btc(105, "2025-03-01 23:59:59.999", "60005.12345678", "0.12345678", "buy", 40),
    btc(106, "2025-03-01 23:59:59.999", "60001.00", "0.00100", "sell", 45),
    btc(109, "2025-03-02 00:00:00.000", "60003.00", "0.20000", "buy", 30),
    btc(110, "2025-03-02 00:00:30.000", "60004.00", "0.30000", "sell", 30),
  ],
  kafkaPartition: 0,
  firstOffset: 0,
  writtenAtMs: utcMs("2025-03-02 00:00:40.000"),
};

/** A producer retry: 102 again, 2 s later, in another Kafka partition. Staging keeps the first copy. */
export const RETRY_COPY: GoldenFlush = {
  trades: [{ ...b102, ingestDelayMs: 2060 }],
  kafkaPartition: 1,
  firstOffset: 0,
  writtenAtMs: utcMs("2025-03-02 00:00:41.000"),
};

/** ETHUSDT in µs, v2 files: a trade 1 µs before midnight and one 1 µs after. */
export const ETH_V2: GoldenFlush = {
  trades: [
    eth(5001, "2025-03-01 23:59:10.000000", "3000.00", "1.0000", "buy", 30),
    // 2499 ms after its millisecond: 2498.001 ms after the trade
    eth(5002, "2025-03-01 23:59:59.999999", "3001.50", "2.0000", "sell", 2499),
    eth(5003, "2025-03-02 00:00:00.000001", "3002.00", "0.5000", "buy", 30),
  ],
  kafkaPartition: 2,
  firstOffset: 0,
  writtenAtMs: utcMs("2025-03-02 00:00:05.000"),
};

/** BTCUSDT from a v2 producer; 113-114 never arrive (a hole inside a minute). */
export const LATER_V2: GoldenFlush = {
  trades: [
    btc(111, "2025-03-02 00:01:01.000", "60006.00", "0.01000", "buy", 30),
    btc(112, "2025-03-02 00:01:02.000", "60007.00", "0.02000", "buy", 30),
    btc(115, "2025-03-02 00:01:50.000", "60008.00", "0.03000", "sell", 30),
  ].map((trade) => ({ ...trade, producerId: "producer-b" })),
  kafkaPartition: 0,
  firstOffset: 10,
  writtenAtMs: utcMs("2025-03-02 00:02:00.000"),
};

/** 99, which the producer missed, fetched from REST at 00:05:00 into the earlier hour and day. */
export const BACKFILL: GoldenFlush = {
  trades: [{
    ...btc(99, "2025-03-01 23:58:30.000", "59960.00", "0.02000", "buy", 6.5 * 60_000),
    backfilled: true,
  }],
  kafkaPartition: 0,
  firstOffset: 13,
  writtenAtMs: utcMs("2025-03-02 00:05:01.000"),
};

/** Every flush of the golden lake, in the order the consumer wrote them. */
export const GOLDEN_FLUSHES: readonly GoldenFlush[] = [LIVE_V1, RETRY_COPY, ETH_V2, LATER_V2, BACKFILL];

/** The refresh's now_at for the golden numbers. */
export const GOLDEN_NOW_MS = utcMs("2025-03-02 00:07:30.000");

/** Writes `flushes` into the lake at `lakeDir`, one file per flush and hour. */
export async function writeGoldenLake(lakeDir: string, flushes: readonly GoldenFlush[] = GOLDEN_FLUSHES) {
  for (const { trades, kafkaPartition, firstOffset, writtenAtMs } of flushes) {
    await writeLake(lakeDir, trades, { kafkaPartition, firstOffset, writtenAtMs });
  }
}

/** A mart's rows in `orderBy` order, every column as DuckDB casts it to VARCHAR. */
export interface GoldenMart {
  orderBy: string;
  rows: Record<string, string | null>[];
}

// Per-trade quotes (price × quantity) used below:
//   98 599.5 (sell)   99 1199.2   100 1799.1   101 30000.05   102 15002.5 (sell)   103 6002 (sell)   104 59990.5
//   105 60005.12345678 × 0.12345678 = 7408.0393254765279684   106 60.001 (sell)   109 12000.6   110 18001.2 (sell)
//   111 600.06   112 1200.14   115 1800.24 (sell)   5001 3000   5002 6003 (sell)   5003 1501
// BTCUSDT 23:59 sums: volume 0.5 + 0.25 + 0.1 + 1 + 0.12345678 + 0.001 = 1.97445678, quote 118463.0903254765279684;
// taker buys 101, 104, 105: 1.62345678 and 97398.5893254765279684; sells 0.351 and 21064.501.
const BTC_2359_QUOTE = "118463.0903254765279684";
const BTC_2359_BUY_QUOTE = "97398.5893254765279684";

/**
 * `marts` with each row's `market` set to `market`, named just before `pair` as in every mart, and ordered by market
 * first.
 */
export function inMarket(market: "spot" | "usdm", marts: Record<string, GoldenMart>): Record<string, GoldenMart> {
  return Object.fromEntries(
    Object.entries(marts).map(([name, mart]) => [name, {
      orderBy: `market, ${mart.orderBy}`,
      rows: mart.rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).flatMap(([column, value]) =>
            column === "pair" ? [["market", market], [column, value]] : [[column, value]]
          ),
        )
      ),
    }]),
  );
}

/** Every mart of the golden lake, refreshed at {@link GOLDEN_NOW_MS} with the default health thresholds. */
export const GOLDEN_MARTS: Record<string, GoldenMart> = inMarket("spot", {
  "marts.fct_candles_1m": {
    orderBy: "pair, minute_at",
    rows: [
      {
        // 98, 99 (backfilled), 100
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:58:00",
        open: "59950.00000000",
        high: "59970.00000000",
        low: "59950.00000000",
        close: "59970.00000000", // 100 at 23:58:59.999 stays in 23:58
        volume: "0.06000000",
        quote_volume: "3597.8000000000000000",
        trade_count: "3",
        vwap: "59963.33333333", // 3597.8 / 0.06 = 59963.333…
        taker_buy_volume: "0.05000000",
        taker_buy_quote_volume: "2998.3000000000000000",
      },
      {
        // 101-106, 102 once; 103 arrived after 104
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:59:00",
        open: "60000.10000000",
        high: "60020.00000000",
        low: "59990.50000000",
        close: "60001.00000000", // 106, not 105: same time, higher id
        volume: "1.97445678",
        quote_volume: BTC_2359_QUOTE,
        trade_count: "6",
        vwap: "59997.81384198", // 118463.0903254765279684 / 1.97445678 = 59997.8138419806…
        taker_buy_volume: "1.62345678",
        taker_buy_quote_volume: BTC_2359_BUY_QUOTE,
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:00:00",
        open: "60003.00000000",
        high: "60004.00000000",
        low: "60003.00000000",
        close: "60004.00000000",
        volume: "0.50000000",
        quote_volume: "30001.8000000000000000",
        trade_count: "2",
        vwap: "60003.60000000",
        taker_buy_volume: "0.20000000",
        taker_buy_quote_volume: "12000.6000000000000000",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:01:00",
        open: "60006.00000000",
        high: "60008.00000000",
        low: "60006.00000000",
        close: "60008.00000000",
        volume: "0.06000000",
        quote_volume: "3600.4400000000000000",
        trade_count: "3",
        vwap: "60007.33333333", // 3600.44 / 0.06
        taker_buy_volume: "0.03000000",
        taker_buy_quote_volume: "1800.2000000000000000",
      },
      {
        pair: "ETHUSDT",
        minute_at: "2025-03-01 23:59:00",
        open: "3000.00000000",
        high: "3001.50000000",
        low: "3000.00000000",
        close: "3001.50000000", // 5002 at 23:59:59.999999 stays in 23:59
        volume: "3.00000000",
        quote_volume: "9003.0000000000000000",
        trade_count: "2",
        vwap: "3001.00000000",
        taker_buy_volume: "1.00000000",
        taker_buy_quote_volume: "3000.0000000000000000",
      },
      {
        pair: "ETHUSDT",
        minute_at: "2025-03-02 00:00:00",
        open: "3002.00000000",
        high: "3002.00000000",
        low: "3002.00000000",
        close: "3002.00000000",
        volume: "0.50000000",
        quote_volume: "1501.0000000000000000",
        trade_count: "1",
        vwap: "3002.00000000",
        taker_buy_volume: "0.50000000",
        taker_buy_quote_volume: "1501.0000000000000000",
      },
    ],
  },

  "marts.fct_trades_1m": {
    orderBy: "pair, minute_at",
    rows: [
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:58:00",
        trade_count: "3",
        volume: "0.06000000",
        quote_volume: "3597.8000000000000000",
        min_price: "59950.00000000",
        max_price: "59970.00000000",
        avg_price: "59960.00000000",
        avg_trade_size: "0.02000000",
        max_trade_size: "0.03000000",
        backfilled_count: "1",
        archive_count: "0",
        non_market_count: "0",
        first_trade_id: "98",
        last_trade_id: "100",
        last_trade_at: "2025-03-01 23:58:59.999",
        last_ingested_at: "2025-03-02 00:05:00", // the backfilled 99
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:59:00",
        trade_count: "6",
        volume: "1.97445678",
        quote_volume: BTC_2359_QUOTE,
        min_price: "59990.50000000",
        max_price: "60020.00000000",
        avg_price: "60004.45390946", // Σ price 360026.72345678 / 6 = 60004.4539094633…
        avg_trade_size: "0.32907613", // 1.97445678 / 6, exact
        max_trade_size: "1.00000000",
        backfilled_count: "0",
        archive_count: "0",
        non_market_count: "0",
        first_trade_id: "101",
        last_trade_id: "106",
        last_trade_at: "2025-03-01 23:59:59.999",
        last_ingested_at: "2025-03-02 00:00:00.044", // 106, 45 ms after 23:59:59.999
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:00:00",
        trade_count: "2",
        volume: "0.50000000",
        quote_volume: "30001.8000000000000000",
        min_price: "60003.00000000",
        max_price: "60004.00000000",
        avg_price: "60003.50000000",
        avg_trade_size: "0.25000000",
        max_trade_size: "0.30000000",
        backfilled_count: "0",
        archive_count: "0",
        non_market_count: "0",
        first_trade_id: "109",
        last_trade_id: "110",
        last_trade_at: "2025-03-02 00:00:30",
        last_ingested_at: "2025-03-02 00:00:30.03",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:01:00",
        trade_count: "3",
        volume: "0.06000000",
        quote_volume: "3600.4400000000000000",
        min_price: "60006.00000000",
        max_price: "60008.00000000",
        avg_price: "60007.00000000",
        avg_trade_size: "0.02000000",
        max_trade_size: "0.03000000",
        backfilled_count: "0",
        archive_count: "0",
        non_market_count: "0",
        first_trade_id: "111",
        last_trade_id: "115",
        last_trade_at: "2025-03-02 00:01:50",
        last_ingested_at: "2025-03-02 00:01:50.03",
      },
      {
        pair: "ETHUSDT",
        minute_at: "2025-03-01 23:59:00",
        trade_count: "2",
        volume: "3.00000000",
        quote_volume: "9003.0000000000000000",
        min_price: "3000.00000000",
        max_price: "3001.50000000",
        avg_price: "3000.75000000",
        avg_trade_size: "1.50000000",
        max_trade_size: "2.00000000",
        backfilled_count: "0",
        archive_count: "0",
        non_market_count: "0",
        first_trade_id: "5001",
        last_trade_id: "5002",
        last_trade_at: "2025-03-01 23:59:59.999999",
        last_ingested_at: "2025-03-02 00:00:02.498",
      },
      {
        pair: "ETHUSDT",
        minute_at: "2025-03-02 00:00:00",
        trade_count: "1",
        volume: "0.50000000",
        quote_volume: "1501.0000000000000000",
        min_price: "3002.00000000",
        max_price: "3002.00000000",
        avg_price: "3002.00000000",
        avg_trade_size: "0.50000000",
        max_trade_size: "0.50000000",
        backfilled_count: "0",
        archive_count: "0",
        non_market_count: "0",
        first_trade_id: "5003",
        last_trade_id: "5003",
        last_trade_at: "2025-03-02 00:00:00.000001",
        last_ingested_at: "2025-03-02 00:00:00.03",
      },
    ],
  },

  "marts.fct_orderflow_1m": {
    orderBy: "pair, minute_at",
    rows: [
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:58:00",
        trade_date: "2025-03-01",
        buy_volume: "0.05000000",
        sell_volume: "0.01000000",
        buy_quote_volume: "2998.3000000000000000",
        sell_quote_volume: "599.5000000000000000",
        buy_count: "2",
        sell_count: "1",
        imbalance: "0.666666666666667", // 0.04 / 0.06
        buy_ratio: "0.833333333333333", // 0.05 / 0.06
        delta: "0.04000000",
        cumulative_delta: "0.04000000",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:59:00",
        trade_date: "2025-03-01",
        buy_volume: "1.62345678",
        sell_volume: "0.35100000",
        buy_quote_volume: BTC_2359_BUY_QUOTE,
        sell_quote_volume: "21064.5010000000000000",
        buy_count: "3",
        sell_count: "3",
        imbalance: "0.644459171195431", // 1.27245678 / 1.97445678
        buy_ratio: "0.822229585597716", // 1.62345678 / 1.97445678
        delta: "1.27245678",
        cumulative_delta: "1.31245678", // 0.04 + 1.27245678
      },
      {
        // the day restarts the running delta
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:00:00",
        trade_date: "2025-03-02",
        buy_volume: "0.20000000",
        sell_volume: "0.30000000",
        buy_quote_volume: "12000.6000000000000000",
        sell_quote_volume: "18001.2000000000000000",
        buy_count: "1",
        sell_count: "1",
        imbalance: "-0.2",
        buy_ratio: "0.4",
        delta: "-0.10000000",
        cumulative_delta: "-0.10000000",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:01:00",
        trade_date: "2025-03-02",
        buy_volume: "0.03000000",
        sell_volume: "0.03000000",
        buy_quote_volume: "1800.2000000000000000",
        sell_quote_volume: "1800.2400000000000000",
        buy_count: "2",
        sell_count: "1",
        imbalance: "0",
        buy_ratio: "0.5",
        delta: "0.00000000",
        cumulative_delta: "-0.10000000",
      },
      {
        pair: "ETHUSDT",
        minute_at: "2025-03-01 23:59:00",
        trade_date: "2025-03-01",
        buy_volume: "1.00000000",
        sell_volume: "2.00000000",
        buy_quote_volume: "3000.0000000000000000",
        sell_quote_volume: "6003.0000000000000000",
        buy_count: "1",
        sell_count: "1",
        imbalance: "-0.333333333333333",
        buy_ratio: "0.333333333333333",
        delta: "-1.00000000",
        cumulative_delta: "-1.00000000",
      },
      {
        pair: "ETHUSDT",
        minute_at: "2025-03-02 00:00:00",
        trade_date: "2025-03-02",
        buy_volume: "0.50000000",
        sell_volume: "0.00000000",
        buy_quote_volume: "1501.0000000000000000",
        sell_quote_volume: "0.0000000000000000",
        buy_count: "1",
        sell_count: "0",
        imbalance: "1",
        buy_ratio: "1",
        delta: "0.50000000",
        cumulative_delta: "0.50000000",
      },
    ],
  },

  // Quantiles interpolate linearly: q at position (n − 1) × q of the sorted values. lake_ms is lake_written_at −
  // ingested_at: the live file was written at 00:00:40, the v2 BTCUSDT file at 00:02:00, the ETHUSDT file at 00:00:05.
  "marts.fct_ingestion_latency_1m": {
    orderBy: "pair, minute_at",
    rows: [
      {
        // the backfilled 99 is left out; lake: 98 149950 ms, 100 99951 ms
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:58:00",
        sample_count: "2",
        ingest_p50_ms: "50",
        ingest_p95_ms: "50",
        ingest_p99_ms: "50",
        ingest_max_ms: "50",
        lake_p50_ms: "124950.5",
        lake_p95_ms: "147450.05", // 99951 + 0.95 × 49999
        lake_p99_ms: "149450.01",
        lake_max_ms: "149950",
      },
      {
        // ingest 40 45 50 60 70 120; lake 39956 39961 59930 69880 79440 94950
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:59:00",
        sample_count: "6",
        ingest_p50_ms: "55",
        ingest_p95_ms: "107.5", // 70 + 0.75 × 50
        ingest_p99_ms: "117.5", // 70 + 0.95 × 50
        ingest_max_ms: "120",
        lake_p50_ms: "64905",
        lake_p95_ms: "91072.5", // 79440 + 0.75 × 15510
        lake_p99_ms: "94174.5",
        lake_max_ms: "94950",
      },
      {
        // lake 9970 39970
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:00:00",
        sample_count: "2",
        ingest_p50_ms: "30",
        ingest_p95_ms: "30",
        ingest_p99_ms: "30",
        ingest_max_ms: "30",
        lake_p50_ms: "24970",
        lake_p95_ms: "38470",
        lake_p99_ms: "39670",
        lake_max_ms: "39970",
      },
      {
        // lake 9970 57970 58970
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:01:00",
        sample_count: "3",
        ingest_p50_ms: "30",
        ingest_p95_ms: "30",
        ingest_p99_ms: "30",
        ingest_max_ms: "30",
        lake_p50_ms: "57970",
        lake_p95_ms: "58870", // 57970 + 0.9 × 1000
        lake_p99_ms: "58950",
        lake_max_ms: "58970",
      },
      {
        // ingest 30 and 2498.001; lake 2502 54970
        pair: "ETHUSDT",
        minute_at: "2025-03-01 23:59:00",
        sample_count: "2",
        ingest_p50_ms: "1264.0005",
        ingest_p95_ms: "2374.60095", // 30 + 0.95 × 2468.001
        ingest_p99_ms: "2473.32099", // 30 + 0.99 × 2468.001
        ingest_max_ms: "2498.001",
        lake_p50_ms: "28736",
        lake_p95_ms: "52346.6",
        lake_p99_ms: "54445.32",
        lake_max_ms: "54970",
      },
      {
        // ingested at 00:00:00.030, 1 µs after midnight
        pair: "ETHUSDT",
        minute_at: "2025-03-02 00:00:00",
        sample_count: "1",
        ingest_p50_ms: "29.999",
        ingest_p95_ms: "29.999",
        ingest_p99_ms: "29.999",
        ingest_max_ms: "29.999",
        lake_p50_ms: "4970",
        lake_p95_ms: "4970",
        lake_p99_ms: "4970",
        lake_max_ms: "4970",
      },
    ],
  },

  // 107-108 and 113-114 never arrived (open); 99, missed by the stream, came from REST between the live 98 and 100
  // (healed, placed at 98). The health mart and the alerts count the open ones only.
  // (Rows are ordered as VARCHAR, where "99" sorts after "113": by status first.)
  "marts.fct_trade_gaps": {
    orderBy: "pair, status, from_trade_id",
    rows: [
      {
        pair: "BTCUSDT",
        from_trade_id: "99",
        to_trade_id: "99",
        missing_count: "1",
        gap_after_time: "2025-03-01 23:58:10",
        first_seen_at: "2025-03-02 00:07:30",
        status: "healed",
        healed_by: "rest_backfill",
      },
      {
        pair: "BTCUSDT",
        from_trade_id: "107",
        to_trade_id: "108",
        missing_count: "2",
        gap_after_time: "2025-03-01 23:59:59.999",
        first_seen_at: "2025-03-02 00:07:30",
        status: "open",
        healed_by: null,
      },
      {
        pair: "BTCUSDT",
        from_trade_id: "113",
        to_trade_id: "114",
        missing_count: "2",
        gap_after_time: "2025-03-02 00:01:02",
        first_seen_at: "2025-03-02 00:07:30",
        status: "open",
        healed_by: null,
      },
    ],
  },

  // Windows from the first trade's to now_at's (00:07:30), measured as of min(window end, now_at). Stale after 60 s
  // without a trade, else warn on open gaps or a p99 above 2000 ms.
  "marts.fct_pipeline_health_5m": {
    orderBy: "pair, window_start_at",
    rows: [
      {
        pair: "BTCUSDT",
        window_start_at: "2025-03-01 23:55:00",
        window_end_at: "2025-03-02 00:00:00",
        trades_5m: "9",
        trades_15m: "9",
        trades_1h: "9",
        seconds_since_last_trade: "0.001", // 106 at 23:59:59.999
        seconds_since_last_ingest: "0", // 99 was ingested at 00:05:00, after the window
        open_gaps: "1", // 107-108
        ingest_p99_ms: "117.5",
        dlq_events: "0",
        klines_checked: "0",
        kline_match_rate: null,
        status: "warn",
      },
      {
        pair: "BTCUSDT",
        window_start_at: "2025-03-02 00:00:00",
        window_end_at: "2025-03-02 00:05:00",
        trades_5m: "5",
        trades_15m: "14",
        trades_1h: "14",
        seconds_since_last_trade: "190", // 115 at 00:01:50
        seconds_since_last_ingest: "0",
        open_gaps: "2",
        ingest_p99_ms: "30",
        dlq_events: "0",
        klines_checked: "0",
        kline_match_rate: null,
        status: "stale",
      },
      {
        pair: "BTCUSDT",
        window_start_at: "2025-03-02 00:05:00",
        window_end_at: "2025-03-02 00:10:00",
        trades_5m: "0",
        trades_15m: "14",
        trades_1h: "14",
        seconds_since_last_trade: "340", // now_at 00:07:30
        seconds_since_last_ingest: "150", // 99 at 00:05:00
        open_gaps: "2",
        ingest_p99_ms: null,
        dlq_events: "0",
        klines_checked: "0",
        kline_match_rate: null,
        status: "stale",
      },
      {
        pair: "ETHUSDT",
        window_start_at: "2025-03-01 23:55:00",
        window_end_at: "2025-03-02 00:00:00",
        trades_5m: "2",
        trades_15m: "2",
        trades_1h: "2",
        seconds_since_last_trade: "0.000001",
        seconds_since_last_ingest: "0",
        open_gaps: "0",
        ingest_p99_ms: "2473.32099",
        dlq_events: "0",
        klines_checked: "0",
        kline_match_rate: null,
        status: "warn",
      },
      {
        pair: "ETHUSDT",
        window_start_at: "2025-03-02 00:00:00",
        window_end_at: "2025-03-02 00:05:00",
        trades_5m: "1",
        trades_15m: "3",
        trades_1h: "3",
        seconds_since_last_trade: "299.999999",
        seconds_since_last_ingest: "297.502", // 5002 at 00:00:02.498
        open_gaps: "0",
        ingest_p99_ms: "29.999",
        dlq_events: "0",
        klines_checked: "0",
        kline_match_rate: null,
        status: "stale",
      },
      {
        pair: "ETHUSDT",
        window_start_at: "2025-03-02 00:05:00",
        window_end_at: "2025-03-02 00:10:00",
        trades_5m: "0",
        trades_15m: "3",
        trades_1h: "3",
        seconds_since_last_trade: "449.999999",
        seconds_since_last_ingest: "447.502",
        open_gaps: "0",
        ingest_p99_ms: null,
        dlq_events: "0",
        klines_checked: "0",
        kline_match_rate: null,
        status: "stale",
      },
    ],
  },

  // The golden lake has no archive files: nothing to reconcile.
  "marts.fct_archive_reconciliation": { orderBy: "pair, trade_date", rows: [] },

  // Kept by `deno task reconcile`: a refresh only creates it, empty.
  "marts.fct_kline_reconciliation": { orderBy: "pair, minute_at", rows: [] },

  // The golden lake has no _dlq files: the refresh reads its empty placeholder, so no dead-letter events anywhere.
  "marts.fct_dlq_events_5m": { orderBy: "window_start_at, pair, reason, stage", rows: [] },

  // The latest window of each pair (00:05) against the default thresholds: both pairs are stale, BTCUSDT has gaps.
  "marts.fct_alert_conditions": {
    orderBy: "pair, kind",
    rows: [
      {
        pair: "BTCUSDT",
        kind: "open_gaps",
        value: "2",
        threshold: "0",
        message: "2 trade-id gaps not healed",
        measured_at: "2025-03-02 00:07:30",
      },
      {
        pair: "BTCUSDT",
        kind: "stale",
        value: "340",
        threshold: "60",
        message: "no trade for 340 s",
        measured_at: "2025-03-02 00:07:30",
      },
      {
        pair: "ETHUSDT",
        kind: "stale",
        value: "449.999999",
        threshold: "60",
        message: "no trade for 450 s",
        measured_at: "2025-03-02 00:07:30",
      },
    ],
  },

  // One refresh: each condition opens an alert, none resolved, none sent to a webhook yet.
  "marts.alerts": {
    orderBy: "pair, kind",
    rows: [
      ["BTCUSDT", "open_gaps", "2", "0", "2 trade-id gaps not healed"],
      ["BTCUSDT", "stale", "340", "60", "no trade for 340 s"],
      ["ETHUSDT", "stale", "449.999999", "60", "no trade for 450 s"],
    ].map(([pair, kind, value, threshold, message]) => ({
      alert_id: `${pair}/${kind}/2025-03-02T00:07:30`,
      pair: pair!,
      kind: kind!,
      opened_at: "2025-03-02 00:07:30",
      last_seen_at: "2025-03-02 00:07:30",
      resolved_at: null,
      value: value!,
      threshold: threshold!,
      message: message!,
      notified_opened_at: null,
      notified_resolved_at: null,
    })),
  },
});

// ---- USDⓈ-M futures -------------------------------------------------------------------------------------------

/** A futures trade as the usdm lake holds it (LAKE_DIR/_usdm), with the columns only futures and REST heals fill. */
export interface FuturesTrade {
  id: number;
  time: string;
  price: string;
  qty: string;
  taker: "buy" | "sell";
  /** The futures X. */
  type: "MARKET" | "INSURANCE_FUND" | "ADL" | "NA";
  /** A trade healed from REST: the id REST listed just before it. Unset: a live trade. */
  sourcePrevId?: number;
}

/**
 * USDⓈ-M BTCUSDT across the same midnight as the spot lake, with trade ids that overlap spot's (98-115) and must
 * never mix with them:
 *   23:59  101 MARKET   102 INSURANCE_FUND 2 % above the book (61302.0 against ~60100)   103 104 MARKET
 *   00:00  105 live   106 never listed by REST (an ADL the stream missed: REST answered 107 after 105)
 *          107 REST-healed (source_prev 105)   108 live   109-110 never arrived (a real gap)   111 live
 *   00:01  112 never listed (REST answered 113 after 111)   113 REST-healed (source_prev 111)   114 live
 */
export const FUTURES_TRADES: readonly FuturesTrade[] = [
  { id: 101, time: "2025-03-01 23:59:10.000", price: "60100.0", qty: "0.010", taker: "buy", type: "MARKET" },
  { id: 102, time: "2025-03-01 23:59:20.000", price: "61302.0", qty: "0.500", taker: "sell", type: "INSURANCE_FUND" },
  { id: 103, time: "2025-03-01 23:59:30.000", price: "60090.5", qty: "0.020", taker: "sell", type: "MARKET" },
  { id: 104, time: "2025-03-01 23:59:59.999", price: "60105.0", qty: "0.003", taker: "buy", type: "MARKET" },
  { id: 105, time: "2025-03-02 00:00:05.000", price: "60110.0", qty: "0.100", taker: "buy", type: "MARKET" },
  {
    id: 107,
    time: "2025-03-02 00:00:10.000",
    price: "60112.0",
    qty: "0.200",
    taker: "sell",
    type: "MARKET",
    sourcePrevId: 105,
  },
  { id: 108, time: "2025-03-02 00:00:20.000", price: "60120.0", qty: "0.050", taker: "sell", type: "MARKET" },
  { id: 111, time: "2025-03-02 00:00:40.000", price: "60115.0", qty: "0.010", taker: "buy", type: "MARKET" },
  {
    id: 113,
    time: "2025-03-02 00:01:10.000",
    price: "60130.0",
    qty: "0.040",
    taker: "buy",
    type: "MARKET",
    sourcePrevId: 111,
  },
  { id: 114, time: "2025-03-02 00:01:30.000", price: "60125.0", qty: "0.002", taker: "sell", type: "MARKET" },
];

/** Live futures trades reach the producer 30 ms after they happen; REST heals at 00:05:00; files are written at 00:05:01. */
const FUTURES_HEALED_AT = "2025-03-02 00:05:00.000";
const FUTURES_WRITTEN_AT = "2025-03-02 00:05:01.000";

/**
 * Writes `trades` into the usdm dataset of the lake at `lakeDir` (LAKE_DIR/_usdm/pair=…/trade_date=…/hour=…), one
 * file per hour, with DuckDB's COPY and every lake column, as a v2 usdm consumer would (Kafka partition 0, offsets in
 * order), marked as holding each trade id once. Returns the files' paths. With `market: "spot"` into the spot
 * dataset, without a trade type (for spot trades healed from REST, which carry source_prev_trade_id too).
 */
export async function writeFuturesLake(
  lakeDir: string,
  trades: readonly FuturesTrade[] = FUTURES_TRADES,
  options: { pair?: string; market?: Market } = {},
): Promise<string[]> {
  const { pair = "BTCUSDT", market = "usdm" } = options;
  const byHour = Map.groupBy(trades, (trade) => trade.time.slice(0, 13));
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const paths: string[] = [];
  let offset = 0;
  try {
    for (const hourTrades of byHour.values()) {
      const partition = hivePartitionOf(pair, utcMs(hourTrades[0]!.time) * 1000);
      const folder = partitionDir(marketLakeDir(lakeDir, market), partition);
      const path = join(folder, lakeFileName(0, BigInt(offset)));
      const rows = hourTrades.map((trade) => {
        const healed = trade.sourcePrevId !== undefined;
        const ingestedAt = healed
          ? `timestamp '${FUTURES_HEALED_AT}'`
          : `timestamp '${trade.time}' + interval 30 millisecond`;
        return `(${trade.id}, ${trade.price}, ${trade.qty}, timestamp '${trade.time}', ` +
          `${healed ? "null" : `timestamp '${trade.time}' + interval 2 millisecond`}, ${trade.taker === "sell"}, ` +
          `${ingestedAt}, ${healed}, ${market === "spot" ? "null" : sqlString(trade.type)}, ` +
          `${trade.sourcePrevId ?? "null"}, ${offset++})`;
      });
      await Deno.mkdir(folder, { recursive: true });
      await connection.run(`
        copy (
          select
            trade_id::bigint as trade_id,
            price::decimal(20, 8) as price,
            quantity::decimal(20, 8) as quantity,
            trade_time::timestamp as trade_time,
            event_time::timestamp as event_time,
            'ms' as time_unit,
            is_buyer_maker,
            null::boolean as is_best_match,
            ingested_at::timestamp as ingested_at,
            timestamp '${FUTURES_WRITTEN_AT}' as lake_written_at,
            is_backfilled,
            case when is_backfilled then 'rest_backfill' else 'live' end as provenance,
            2 as schema_version,
            'producer-usdm' as producer_id,
            0 as kafka_partition,
            kafka_offset::bigint as kafka_offset,
            trade_type::varchar as trade_type,
            source_prev_trade_id::bigint as source_prev_trade_id
          from (values ${rows.join(", ")}) as t(trade_id, price, quantity, trade_time, event_time, is_buyer_maker,
            ingested_at, is_backfilled, trade_type, source_prev_trade_id, kafka_offset)
        ) to ${sqlString(path)} (format parquet, compression zstd, ${UNIQUE_TRADE_IDS_OPTION})`);
      paths.push(path);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return paths;
}

// usdm quotes: 101 601 (buy)   102 30651 (sell, INSURANCE_FUND)   103 1201.81 (sell)   104 180.315 (buy)
//   105 6011 (buy)   107 12022.4 (sell)   108 3006 (sell)   111 601.15 (buy)   113 2405.2 (buy)   114 120.25 (sell)

/**
 * The usdm rows of the marts of {@link writeFuturesLake} beside the spot golden lake, refreshed at
 * {@link GOLDEN_NOW_MS}. The candles follow the futures kline: MARKET trades only.
 */
export const GOLDEN_FUTURES_MARTS: Record<string, GoldenMart> = inMarket("usdm", {
  "marts.fct_candles_1m": {
    orderBy: "pair, minute_at",
    rows: [
      {
        // 101, 103, 104: the insurance-fund 102 at 61302.0 moves neither high, volume nor the count
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:59:00",
        open: "60100.00000000",
        high: "60105.00000000",
        low: "60090.50000000",
        close: "60105.00000000",
        volume: "0.03300000",
        quote_volume: "1983.1250000000000000",
        trade_count: "3",
        vwap: "60094.69696970", // 1983.125 / 0.033 = 60094.696969…
        taker_buy_volume: "0.01300000",
        taker_buy_quote_volume: "781.3150000000000000",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:00:00",
        open: "60110.00000000",
        high: "60120.00000000",
        low: "60110.00000000",
        close: "60115.00000000",
        volume: "0.36000000",
        quote_volume: "21640.5500000000000000",
        trade_count: "4",
        vwap: "60112.63888889", // 21640.55 / 0.36 = 60112.638888…
        taker_buy_volume: "0.11000000",
        taker_buy_quote_volume: "6612.1500000000000000",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:01:00",
        open: "60130.00000000",
        high: "60130.00000000",
        low: "60125.00000000",
        close: "60125.00000000",
        volume: "0.04200000",
        quote_volume: "2525.4500000000000000",
        trade_count: "2",
        vwap: "60129.76190476", // 2525.45 / 0.042 = 60129.761904…
        taker_buy_volume: "0.04000000",
        taker_buy_quote_volume: "2405.2000000000000000",
      },
    ],
  },

  "marts.fct_trades_1m": {
    orderBy: "pair, minute_at",
    rows: [
      {
        // every trade, the insurance-fund 102 too: it holds an id
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:59:00",
        trade_count: "4",
        volume: "0.53300000",
        quote_volume: "32634.1250000000000000",
        min_price: "60090.50000000",
        max_price: "61302.00000000",
        avg_price: "60399.37500000", // Σ price 241597.5 / 4
        avg_trade_size: "0.13325000",
        max_trade_size: "0.50000000",
        backfilled_count: "0",
        archive_count: "0",
        non_market_count: "1",
        first_trade_id: "101",
        last_trade_id: "104",
        last_trade_at: "2025-03-01 23:59:59.999",
        last_ingested_at: "2025-03-02 00:00:00.029",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:00:00",
        trade_count: "4",
        volume: "0.36000000",
        quote_volume: "21640.5500000000000000",
        min_price: "60110.00000000",
        max_price: "60120.00000000",
        avg_price: "60114.25000000", // Σ 240457 / 4
        avg_trade_size: "0.09000000",
        max_trade_size: "0.20000000",
        backfilled_count: "1",
        archive_count: "0",
        non_market_count: "0",
        first_trade_id: "105",
        last_trade_id: "111",
        last_trade_at: "2025-03-02 00:00:40",
        last_ingested_at: "2025-03-02 00:05:00", // the REST-healed 107
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:01:00",
        trade_count: "2",
        volume: "0.04200000",
        quote_volume: "2525.4500000000000000",
        min_price: "60125.00000000",
        max_price: "60130.00000000",
        avg_price: "60127.50000000",
        avg_trade_size: "0.02100000",
        max_trade_size: "0.04000000",
        backfilled_count: "1",
        archive_count: "0",
        non_market_count: "0",
        first_trade_id: "113",
        last_trade_id: "114",
        last_trade_at: "2025-03-02 00:01:30",
        last_ingested_at: "2025-03-02 00:05:00",
      },
    ],
  },

  "marts.fct_orderflow_1m": {
    orderBy: "pair, minute_at",
    rows: [
      {
        // market trades only: 101 and 104 bought, 103 sold; the insurance-fund 102 is no taker's flow
        pair: "BTCUSDT",
        minute_at: "2025-03-01 23:59:00",
        trade_date: "2025-03-01",
        buy_volume: "0.01300000",
        sell_volume: "0.02000000",
        buy_quote_volume: "781.3150000000000000",
        sell_quote_volume: "1201.8100000000000000",
        buy_count: "2",
        sell_count: "1",
        imbalance: "-0.212121212121212", // -0.007 / 0.033
        buy_ratio: "0.393939393939394", // 0.013 / 0.033
        delta: "-0.00700000",
        cumulative_delta: "-0.00700000",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:00:00",
        trade_date: "2025-03-02",
        buy_volume: "0.11000000",
        sell_volume: "0.25000000",
        buy_quote_volume: "6612.1500000000000000",
        sell_quote_volume: "15028.4000000000000000",
        buy_count: "2",
        sell_count: "2",
        imbalance: "-0.388888888888889", // -0.14 / 0.36
        buy_ratio: "0.305555555555556", // 0.11 / 0.36
        delta: "-0.14000000",
        cumulative_delta: "-0.14000000",
      },
      {
        pair: "BTCUSDT",
        minute_at: "2025-03-02 00:01:00",
        trade_date: "2025-03-02",
        buy_volume: "0.04000000",
        sell_volume: "0.00200000",
        buy_quote_volume: "2405.2000000000000000",
        sell_quote_volume: "120.2500000000000000",
        buy_count: "1",
        sell_count: "1",
        imbalance: "0.904761904761905", // 0.038 / 0.042
        buy_ratio: "0.952380952380952", // 0.04 / 0.042
        delta: "0.03800000",
        cumulative_delta: "-0.10200000",
      },
    ],
  },

  // 106 and 112: the trade after each carries source_prev_trade_id <= the trade before (REST listed 107 right after
  // 105, 113 right after 111), so they are absent at the source, not gaps; 109-110 is a real gap, open.
  "marts.fct_trade_gaps": {
    orderBy: "pair, status, from_trade_id",
    rows: [
      ["106", "2025-03-02 00:00:05", "absent_at_source", null],
      ["112", "2025-03-02 00:00:40", "absent_at_source", null],
      ["107", "2025-03-02 00:00:05", "healed", "rest_backfill"],
      ["113", "2025-03-02 00:00:40", "healed", "rest_backfill"],
    ].map(([id, after, status, healedBy]) => ({
      pair: "BTCUSDT",
      from_trade_id: id!,
      to_trade_id: id!,
      missing_count: "1",
      gap_after_time: after!,
      first_seen_at: "2025-03-02 00:07:30",
      status: status!,
      healed_by: healedBy ?? null,
    })).toSpliced(4, 0, {
      pair: "BTCUSDT",
      from_trade_id: "109",
      to_trade_id: "110",
      missing_count: "2",
      gap_after_time: "2025-03-02 00:00:20",
      first_seen_at: "2025-03-02 00:07:30",
      status: "open",
      healed_by: null,
    }),
  },

  // Only the open 109-110 counts: the absent ids raise no alert.
  "marts.fct_alert_conditions": {
    orderBy: "pair, kind",
    rows: [
      {
        pair: "BTCUSDT",
        kind: "open_gaps",
        value: "1",
        threshold: "0",
        message: "1 trade-id gaps not healed",
        measured_at: "2025-03-02 00:07:30",
      },
      {
        pair: "BTCUSDT",
        kind: "stale",
        value: "360", // 114 at 00:01:30, now_at 00:07:30
        threshold: "60",
        message: "no trade for 360 s",
        measured_at: "2025-03-02 00:07:30",
      },
    ],
  },
});

/** A trade as the exchange's archive CSV holds it. */
export interface ArchiveTrade {
  id: number;
  price: string;
  qty: string;
  /** Trade time, µs since the epoch (UTC); an archive in ms holds it truncated to the millisecond. */
  timeUs: number;
  buyerMaker: boolean;
  bestMatch?: boolean;
}

/**
 * Writes one hour of `pair`'s archive trades into the lake the way `deno task import` does: the importer's own
 * statement over a spot CSV (7 columns, no header, times in `timeUnit`), as
 * `pair=/trade_date=/hour=/archive-<pair>-<day>-<HH>.parquet`, marked `trade_ids: unique`.
 */
export async function writeArchiveHour(
  lakeDir: string,
  pair: string,
  trades: readonly ArchiveTrade[],
  options: { timeUnit: "ms" | "us"; writtenAtMs: number },
): Promise<string> {
  const partition = hivePartitionOf(pair, trades[0]!.timeUs);
  const folder = partitionDir(lakeDir, partition);
  const path = join(folder, archiveFileName(pair, partition.tradeDate, String(partition.hour).padStart(2, "0")));
  const csvDir = await makeTestDir("archive-csv");
  const csvPath = join(csvDir, `${pair}.csv`);
  const time = (us: number) => options.timeUnit === "us" ? us : Math.floor(us / 1000);
  await Deno.writeTextFile(
    csvPath,
    trades.map((t) =>
      [
        t.id,
        t.price,
        t.qty,
        "0",
        time(t.timeUs),
        t.buyerMaker ? "True" : "False",
        (t.bestMatch ?? true) ? "True" : "False",
      ]
        .join(",") + "\n"
    ).join(""),
  );
  const select = archiveRowsSelect(
    csvPath,
    { hasHeader: false, columns: 7, timeUnit: options.timeUnit },
    pair,
    options.writtenAtMs,
  );
  await Deno.mkdir(folder, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await connection.run(
      `copy (select * exclude (pair, trade_date, "hour") from (${select})) to ${sqlString(path)} ` +
        `(format parquet, compression zstd, ${UNIQUE_TRADE_IDS_OPTION})`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
    await Deno.remove(csvDir, { recursive: true });
  }
  return path;
}

/**
 * Rewrites lake files as the consumer wrote them before provenance existed: the same rows (and unique-ids mark)
 * without that column.
 */
export async function dropProvenance(paths: readonly string[]): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    for (const path of paths) {
      const temporary = `${path}.old.tmp`;
      const marked = (await connection.runAndReadAll(
        `select count(*)::integer as n from parquet_kv_metadata(${sqlString(path)}) ` +
          `where key = '${UNIQUE_TRADE_IDS.key}'::blob and value = '${UNIQUE_TRADE_IDS.value}'::blob`,
      )).getRowObjectsJson()[0]!.n as number;
      const mark = marked > 0 ? `, ${UNIQUE_TRADE_IDS_OPTION}` : "";
      await connection.run(
        `copy (select * exclude (provenance) from read_parquet(${sqlString(path)}, hive_partitioning = false)) ` +
          `to ${sqlString(temporary)} (format parquet, compression zstd${mark})`,
      );
      await Deno.rename(temporary, path);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
