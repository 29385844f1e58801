/**
 * The messages the producer writes: a versioned envelope around each trade, and a DLQ record around each bad event.
 *
 * The trade inside the envelope is the exchange's payload unchanged (decimal strings as sent, ids and times as
 * the exchange's integers), so the lake can always be rebuilt from Kafka exactly.
 */
import type { Market } from "../market.ts";
import type { DlqReason, TradePayload } from "./trade_event.ts";
import { timeUnitOf } from "./trade_event.ts";

/** The envelope schema written today. Readers accept this and later versions that only add fields. */
export const SCHEMA_VERSION = 1;

/** Version 1 of the trade envelope on crypto.trades.v1. */
export interface TradeEnvelope {
  schema_version: number;
  source: "binance";
  /** Present on USDⓈ-M futures envelopes only; spot envelopes have no market field (the topic says it). */
  market?: "usdm";
  /** `ms` or `us`: the unit of the trade's `E` and `T`, as the exchange sent them. */
  time_unit: "ms" | "us";
  /** When the producer received the trade (ms since the epoch, the producer's clock). */
  ingested_at_ms: number;
  /** True when the trade was recovered over REST to heal a gap, not received on the stream. */
  backfilled: boolean;
  /**
   * Healed trades only: the id of the trade the source listed just before this one, proving ids
   * `source_prev_id + 1 … trade.t - 1` do not exist there (off-book trades REST does not list).
   */
  source_prev_id?: number;
  trade: TradePayload;
}

/** What an envelope says beyond the trade itself. */
export interface EnvelopeContext {
  /** Default spot: no market field, the envelope exactly as it always was. */
  market?: Market;
  /** See {@link TradeEnvelope.source_prev_id}. */
  sourcePrevId?: number | undefined;
}

/** A record on crypto.trades.dlq.v1. */
export interface DlqRecord {
  schema_version: number;
  reason: DlqReason;
  detail: string;
  received_at_ms: number;
  /** The frame as received, cut to {@link MAX_DLQ_RAW_CHARS} characters. */
  raw: string;
  raw_length: number;
  raw_truncated: boolean;
  symbol: string | null;
}

/** A Kafka message ready for kafkajs. */
export interface OutgoingMessage {
  key: string | null;
  value: string;
  timestamp: string;
  headers?: Record<string, string>;
}

/** Raw frames kept in the DLQ are cut here so a hostile frame cannot exceed Kafka's message size. */
export const MAX_DLQ_RAW_CHARS = 8 * 1024;

/**
 * The Kafka message for a valid trade: keyed by symbol, stamped with the trade time (our topics use LogAppendTime,
 * so the broker's append time replaces it there; retention then counts from arrival). `raw` is the payload's
 * JSON text as received; when given it is embedded byte for byte instead of re-serialising `trade`.
 *
 * No Kafka headers: the version is in the envelope, and per-message headers cost kafkajs about a third of its
 * throughput.
 */
export function tradeMessage(
  trade: TradePayload,
  ingestedAtMs: number,
  backfilled: boolean,
  raw?: string,
  context: EnvelopeContext = {},
): OutgoingMessage {
  const unit = timeUnitOf(trade.T);
  const market = context.market === undefined || context.market === "spot" ? "" : `"market":"${context.market}",`;
  const sourcePrevId = context.sourcePrevId === undefined ? "" : `"source_prev_id":${context.sourcePrevId},`;
  // Field for field the TradeEnvelope, written by hand so the trade text can be spliced in unchanged.
  const value = `{"schema_version":${SCHEMA_VERSION},"source":"binance",${market}"time_unit":"${unit}",` +
    `"ingested_at_ms":${ingestedAtMs},"backfilled":${backfilled},${sourcePrevId}"trade":${
      raw ?? JSON.stringify(trade)
    }}`;
  return {
    key: trade.s,
    value,
    timestamp: String(unit === "us" ? Math.floor(trade.T / 1000) : trade.T),
  };
}

/** The Kafka message for an event that failed validation. */
export function dlqMessage(
  raw: string,
  reason: DlqReason,
  detail: string,
  receivedAtMs: number,
  symbol?: string,
): OutgoingMessage {
  const record: DlqRecord = {
    schema_version: SCHEMA_VERSION,
    reason,
    detail,
    received_at_ms: receivedAtMs,
    raw: raw.slice(0, MAX_DLQ_RAW_CHARS),
    raw_length: raw.length,
    raw_truncated: raw.length > MAX_DLQ_RAW_CHARS,
    symbol: symbol ?? null,
  };
  return {
    key: symbol ?? null,
    value: JSON.stringify(record),
    timestamp: String(receivedAtMs),
    headers: { schema_version: String(SCHEMA_VERSION), reason },
  };
}

/** A trade from REST `historicalTrades` or `trades` (futures: no isBestMatch; `quoteQty` is not kept). */
export interface RestTrade {
  id: number;
  price: string;
  qty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch?: boolean;
}

/**
 * Converts a REST trade of `symbol` into the stream payload shape, keeping the decimal strings as sent. On USDⓈ-M
 * futures REST lists only order-book trades, so the trade gets `X: "MARKET"`.
 */
export function tradeFromRest(symbol: string, rest: RestTrade, market: Market = "spot"): TradePayload {
  const trade: TradePayload = {
    e: "trade",
    s: symbol,
    t: rest.id,
    p: rest.price,
    q: rest.qty,
    T: rest.time,
    m: rest.isBuyerMaker,
  };
  if (market === "usdm") trade.X = "MARKET";
  else if (rest.isBestMatch !== undefined) trade.M = rest.isBestMatch;
  return trade;
}
