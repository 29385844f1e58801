/**
 * Turns a record of crypto.trades.v1 into a lake row, or into a reason for the DLQ. Pure.
 *
 * Envelope versions 1 and 2 are read; version 2 adds `producer_id`. Everything in the trade is re-validated
 * here too: the consumer trusts no producer, and a symbol becomes a folder name.
 *
 * Each consumer writes one market's dataset: a record of another market (by its envelope's `market`, absent on spot,
 * or by its trade's fields: futures trades have `X` and no `M`) is a dead letter (`wrong_market`), never a row of the
 * wrong dataset, where its ids would mix with unrelated ones of the same symbol.
 */
import { validateTrade } from "../../ingest/trade_event.ts";
import { readCanonicalEnvelope } from "./canonical_envelope.ts";
import { forEachRecord, type PackedRecords } from "./packed_records.ts";
import { TradeColumns } from "./trade_columns.ts";
import { type HivePartition, hivePartitionOf } from "../storage/partition.ts";
import type { LakeRow } from "./lake_row.ts";
import { FUTURES_TRADE_TYPES, type FuturesTradeType, isMarket, type Market } from "../../market.ts";

export type { LakeRow };

/** Envelope versions this consumer understands. */
export const READABLE_SCHEMA_VERSIONS = [1, 2] as const;

/** The outcome of {@link decodeRecord}. */
export type Decoded = { row: LakeRow } | { reason: string; detail: string };

/** The consumer's reason for a record of another market than its own. */
export const WRONG_MARKET = "wrong_market";

/**
 * Decodes one Kafka record value for the consumer of `market`: the producer's own layout directly, anything else the
 * general way.
 */
export function decodeRecord(
  value: string | null,
  kafkaPartition: number,
  kafkaOffset: bigint,
  market: Market = "spot",
): Decoded {
  const row = value === null ? undefined : readCanonicalEnvelope(value, kafkaPartition, kafkaOffset, market);
  return row === undefined ? decodeAnyEnvelope(value, kafkaPartition, kafkaOffset, market) : { row };
}

/** Why a trade of envelope market `envelopeMarket` cannot be a row of `market`'s dataset, or undefined. */
export function marketMismatch(
  envelopeMarket: Market,
  trade: Record<string, unknown>,
  market: Market,
): string | undefined {
  if (envelopeMarket !== market) return `a ${envelopeMarket} trade on the ${market} consumer's topic`;
  if (market === "spot" && trade.X !== undefined) return "a spot envelope's trade has X, the futures trade type";
  if (market === "usdm" && trade.M !== undefined) return "a usdm envelope's trade has M, spot's best-match flag";
  if (market === "usdm" && trade.X === undefined) return "a usdm envelope's trade has no X (trade type)";
  return undefined;
}

/** Decodes one Kafka record value of any layout JSON allows: parse, then validate every field. */
export function decodeAnyEnvelope(
  value: string | null,
  kafkaPartition: number,
  kafkaOffset: bigint,
  market: Market = "spot",
): Decoded {
  if (value === null) return { reason: "empty_record", detail: "record has no value" };
  let envelope: Record<string, unknown>;
  try {
    envelope = JSON.parse(value);
  } catch (error) {
    return { reason: "malformed_json", detail: (error as Error).message };
  }
  if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope)) {
    return { reason: "invalid_envelope", detail: "expected a JSON object" };
  }
  const version = envelope.schema_version;
  if (!READABLE_SCHEMA_VERSIONS.includes(version as 1 | 2)) {
    return { reason: "unknown_schema_version", detail: `schema_version ${JSON.stringify(version)} is not 1 or 2` };
  }
  const { time_unit: unit, ingested_at_ms: ingestedAtMs, backfilled, trade } = envelope;
  if (unit !== "ms" && unit !== "us") return { reason: "invalid_envelope", detail: "time_unit must be ms or us" };
  if (!Number.isSafeInteger(ingestedAtMs)) return { reason: "invalid_envelope", detail: "ingested_at_ms is missing" };
  if (typeof backfilled !== "boolean") return { reason: "invalid_envelope", detail: "backfilled must be a boolean" };
  if (typeof trade !== "object" || trade === null || Array.isArray(trade)) {
    return { reason: "invalid_envelope", detail: "trade must be an object" };
  }
  const producerId = envelope.producer_id;
  if (version === 2 && producerId !== undefined && typeof producerId !== "string") {
    return { reason: "invalid_envelope", detail: "producer_id must be a string" };
  }
  const envelopeMarket = envelope.market ?? "spot";
  if (typeof envelopeMarket !== "string" || !isMarket(envelopeMarket)) {
    return { reason: "invalid_envelope", detail: "market must be spot or usdm" };
  }
  const sourcePrevId = envelope.source_prev_id;
  if (sourcePrevId !== undefined && !(Number.isSafeInteger(sourcePrevId) && (sourcePrevId as number) >= 0)) {
    return { reason: "invalid_envelope", detail: "source_prev_id must be a non-negative whole number" };
  }

  const checked = validateTrade(trade as Record<string, unknown>, undefined, { requireEventTime: !backfilled });
  if (checked.kind !== "trade") {
    return checked.kind === "invalid"
      ? { reason: checked.reason, detail: checked.detail }
      : { reason: "unknown_event", detail: `control event ${checked.event} in the trades topic` };
  }
  const mismatch = marketMismatch(envelopeMarket, trade as Record<string, unknown>, market);
  if (mismatch !== undefined) return { reason: WRONG_MARKET, detail: mismatch };
  const t = checked.trade;
  const tradeType = (t as { X?: unknown }).X;
  if (tradeType !== undefined && !FUTURES_TRADE_TYPES.includes(tradeType as FuturesTradeType)) {
    return { reason: "wrong_type", detail: `X must be one of ${FUTURES_TRADE_TYPES.join(", ")}` };
  }
  if (sourcePrevId !== undefined && (sourcePrevId as number) >= t.t) {
    return { reason: "invalid_envelope", detail: "source_prev_id must be below the trade's id" };
  }
  const toUs = (time: number) => unit === "us" ? time : time * 1000;
  let partition: HivePartition;
  try {
    partition = hivePartitionOf(t.s, toUs(t.T));
  } catch (error) {
    return { reason: "invalid_symbol", detail: (error as Error).message };
  }
  return {
    row: {
      partition,
      tradeId: t.t,
      price: t.p,
      quantity: t.q,
      tradeTimeUs: toUs(t.T),
      eventTimeUs: t.E === undefined ? null : toUs(t.E),
      timeUnit: unit,
      isBuyerMaker: t.m,
      isBestMatch: t.M ?? null,
      ...(tradeType === undefined ? {} : { tradeType: tradeType as FuturesTradeType }),
      ...(sourcePrevId === undefined ? {} : { sourcePrevTradeId: sourcePrevId as number }),
      ingestedAtMs: ingestedAtMs as number,
      isBackfilled: backfilled,
      schemaVersion: version as number,
      producerId: typeof producerId === "string" ? producerId : null,
      kafkaPartition,
      kafkaOffset,
    },
  };
}

/** A record that could not be decoded, for the DLQ. */
export interface DeadLetter {
  kafkaOffset: bigint;
  reason: string;
  detail: string;
  /** The record's value as text ("" when it had none). */
  raw: string;
}

/** One flush's records of Kafka partition `kafkaPartition`, decoded. */
export interface DecodedFlush {
  trades: TradeColumns;
  deadLetters: DeadLetter[];
  /** The latest trade time among the trades (µs), 0 when there are none. */
  lastTradeUs: number;
}

/** Decodes every record of a flush (see packed_records.ts) of `market`'s topic straight into trade columns. */
export function decodeFlush(records: PackedRecords, kafkaPartition: number, market: Market = "spot"): DecodedFlush {
  const flush: DecodedFlush = { trades: new TradeColumns(records.lengths.length), deadLetters: [], lastTradeUs: 0 };
  forEachRecord(records, (kafkaOffset, value) => {
    const decoded = decodeRecord(value, kafkaPartition, kafkaOffset, market);
    if ("row" in decoded) {
      flush.trades.push(decoded.row);
      if (decoded.row.tradeTimeUs > flush.lastTradeUs) flush.lastTradeUs = decoded.row.tradeTimeUs;
    } else {
      flush.deadLetters.push({ kafkaOffset, reason: decoded.reason, detail: decoded.detail, raw: value ?? "" });
    }
  });
  return flush;
}
