/**
 * The exchange's markets the pipeline captures, and everything that follows from the choice of one: endpoints,
 * topics, the consumer group, where its lake lives, and its archive path. Pure.
 *
 * Spot is the default and stays exactly as it was. USDⓈ-M futures (`usdm`) is a second, separate market: its own
 * producer, topics, consumer and lake dataset, so that a spot and a futures symbol of the same name can never mix
 * (their trade ids are unrelated) and every reader of the spot lake sees exactly what it saw before.
 */

/** `spot`, or `usdm` (Binance USDⓈ-M futures). */
export type Market = "spot" | "usdm";

export const MARKETS: readonly Market[] = ["spot", "usdm"];

/** What a market is, on the exchange and in the pipeline. */
export interface MarketProfile {
  market: Market;
  /** For log lines and the README: "spot", "USDⓈ-M futures". */
  label: string;
  /**
   * WebSocket base; streams are opened at `<base>/stream?streams=…`. USDⓈ-M: since the 2026 split the raw `@trade`
   * stream is routed to `/public` (with depth and book ticker; aggregates and klines went to `/market`), and the old
   * unrouted URLs were retired on 2026-04-23.
   */
  wsUrl: string;
  /** REST base: backfill, klines. */
  restUrl: string;
  /** Every host the producer may reach for this market (its permissions list exactly these). */
  hosts: readonly string[];
  /** Valid trades in the versioned envelope. Spot keeps the topic it always had. */
  tradesTopic: string;
  /** Events that failed validation or decoding. */
  dlqTopic: string;
  /** The consumer group writing this market's lake. */
  consumerGroup: string;
  /**
   * Where this market's dataset lives, relative to LAKE_DIR: spot at its root (`pair=…/trade_date=…/hour=…`), as
   * ever; every other market in a folder of its own with the same layout inside. The `_` keeps it out of the spot
   * readers' `pair=*` glob and out of pyarrow's discovery of LAKE_DIR, as `_dlq` is.
   */
  lakeSubdir: string;
  /** The archive's path segment under `data/` on data.binance.vision. */
  archivePath: string;
  /** The producer's state file when PRODUCER_STATE_PATH is not set. */
  defaultStatePath: string;
  /** Metrics ports when PRODUCER_METRICS_PORT / CONSUMER_METRICS_PORT are not set (two markets run side by side). */
  defaultProducerMetricsPort: number;
  defaultConsumerMetricsPort: number;
  /** REST paths of the market. */
  rest: {
    recentTrades: string;
    historicalTrades: string;
    aggTrades: string;
    klines: string;
  };
}

const PROFILES: Record<Market, MarketProfile> = {
  spot: {
    market: "spot",
    label: "spot",
    wsUrl: "wss://stream.binance.com:9443",
    restUrl: "https://api.binance.com",
    hosts: [
      "stream.binance.com:9443",
      "stream.binance.com:443",
      "data-stream.binance.vision:9443",
      "data-stream.binance.vision:443",
      "api.binance.com",
      "data-api.binance.vision",
    ],
    tradesTopic: "crypto.trades.v1",
    dlqTopic: "crypto.trades.dlq.v1",
    consumerGroup: "crypto-lake-writer",
    lakeSubdir: "",
    archivePath: "spot",
    defaultStatePath: "data/producer/state.json",
    defaultProducerMetricsPort: 9464,
    defaultConsumerMetricsPort: 9465,
    rest: {
      recentTrades: "/api/v3/trades",
      historicalTrades: "/api/v3/historicalTrades",
      aggTrades: "/api/v3/aggTrades",
      klines: "/api/v3/klines",
    },
  },
  usdm: {
    market: "usdm",
    label: "USDⓈ-M futures",
    wsUrl: "wss://fstream.binance.com/public",
    restUrl: "https://fapi.binance.com",
    hosts: ["fstream.binance.com", "fapi.binance.com"],
    tradesTopic: "crypto.trades.usdm.v1",
    dlqTopic: "crypto.trades.usdm.dlq.v1",
    consumerGroup: "crypto-lake-writer-usdm",
    lakeSubdir: "_usdm",
    archivePath: "futures/um",
    defaultStatePath: "data/producer/state-usdm.json",
    defaultProducerMetricsPort: 9466,
    defaultConsumerMetricsPort: 9467,
    rest: {
      recentTrades: "/fapi/v1/trades",
      historicalTrades: "/fapi/v1/historicalTrades",
      aggTrades: "/fapi/v1/aggTrades",
      klines: "/fapi/v1/klines",
    },
  },
};

/** The consumer group whose committed offsets say which spot DLQ records the lake holds. */
export const DLQ_GROUP_ID = "crypto-dlq-writer";

/** The DLQ group of `market`: spot's as ever, the others' suffixed with their name. */
export function dlqGroupId(market: Market): string {
  return market === "spot" ? DLQ_GROUP_ID : `${DLQ_GROUP_ID}-${market}`;
}

/** The profile of `market`. */
export function marketProfile(market: Market): MarketProfile {
  return PROFILES[market];
}

/** Whether `value` names a market. */
export function isMarket(value: string): value is Market {
  return (MARKETS as readonly string[]).includes(value);
}

/** The folder of `market`'s dataset under `lakeDir` (spot: `lakeDir` itself). */
export function marketLakeDir(lakeDir: string, market: Market): string {
  const subdir = PROFILES[market].lakeSubdir;
  if (subdir === "") return lakeDir;
  return `${lakeDir.replace(/\/+$/, "")}/${subdir}`;
}

/**
 * The futures trade types (`X`). Only `MARKET` trades are order-book trades: Binance's futures klines count only
 * them; `INSURANCE_FUND` and `ADL` are liquidation transfers at a price of their own, `NA` is unspecified.
 */
export const FUTURES_TRADE_TYPES = ["MARKET", "INSURANCE_FUND", "ADL", "NA"] as const;
export type FuturesTradeType = (typeof FUTURES_TRADE_TYPES)[number];
