/**
 * Turns a record of crypto.trades.dlq.v1 into a lake row. Pure.
 *
 * The producer's records (`dlqMessage` in ingest/envelope.ts) carry no `source`; the consumer's (`sendToDlq` in
 * consumer.ts) carry `source: {topic, partition, offset}` and a `stage: consumer` header. A record that cannot be
 * read is still a row (reason `undecodable_dlq_record`, its text kept as `raw`): the DLQ is where bad data ends, so
 * nothing is dropped and nothing is sent on.
 */
import { MAX_DLQ_RAW_CHARS } from "../../ingest/envelope.ts";
import type { DlqRow, DlqStage } from "./dlq_schema.ts";

/** The reason of a DLQ record the sink could not read. */
export const UNDECODABLE_DLQ_RECORD = "undecodable_dlq_record";

// Date's range: a received_at beyond it cannot be dated (nor named as a folder).
const MAX_DATE_MS = 8.64e15;

/** A Kafka record of the DLQ topic, as the sink sees it. */
export interface DlqRecordIn {
  value: string | null;
  /** The `stage` header, when present. */
  stageHeader?: string | undefined;
  /** The record's Kafka timestamp (LogAppendTime: when the broker appended it), ms since the epoch. */
  timestampMs: number;
  kafkaPartition: number;
  kafkaOffset: bigint;
}

/** Decodes one DLQ record; never throws. */
export function decodeDlqRecord(record: DlqRecordIn): DlqRow {
  const value = record.value ?? "";
  const parsed = record.value === null ? "record has no value" : parseRecord(value);
  const headerStage = record.stageHeader === "producer" || record.stageHeader === "consumer"
    ? record.stageHeader
    : undefined;
  const lineage = { kafkaPartition: record.kafkaPartition, kafkaOffset: record.kafkaOffset };
  if (typeof parsed === "string") {
    return {
      receivedAtMs: datable(record.timestampMs) ? record.timestampMs : 0,
      reason: UNDECODABLE_DLQ_RECORD,
      detail: parsed,
      stage: headerStage ?? "unknown",
      symbol: null,
      raw: value.slice(0, MAX_DLQ_RAW_CHARS),
      rawLength: value.length,
      rawTruncated: value.length > MAX_DLQ_RAW_CHARS,
      sourcePartition: null,
      sourceOffset: null,
      schemaVersion: null,
      ...lineage,
    };
  }
  const stage: DlqStage = headerStage ?? (parsed.source ? "consumer" : "producer");
  return {
    receivedAtMs: parsed.received_at_ms,
    reason: parsed.reason,
    detail: parsed.detail,
    stage,
    symbol: parsed.symbol,
    raw: parsed.raw,
    rawLength: parsed.raw_length,
    rawTruncated: parsed.raw_truncated,
    sourcePartition: parsed.source?.partition ?? null,
    sourceOffset: parsed.source?.offset ?? null,
    schemaVersion: parsed.schema_version,
    ...lineage,
  };
}

interface ParsedRecord {
  schema_version: number | null;
  reason: string;
  detail: string;
  received_at_ms: number;
  raw: string;
  raw_length: number;
  raw_truncated: boolean;
  symbol: string | null;
  source: { partition: number; offset: bigint } | undefined;
}

/** The record's fields, or why it cannot be read. */
function parseRecord(value: string): ParsedRecord | string {
  let record: unknown;
  try {
    record = JSON.parse(value);
  } catch (error) {
    return `malformed JSON: ${(error as Error).message}`;
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) return "expected a JSON object";
  const r = record as Record<string, unknown>;
  if (typeof r.reason !== "string" || r.reason === "") return "reason: expected a non-empty string";
  if (!datable(r.received_at_ms)) return "received_at_ms: expected ms since the epoch";
  if (typeof r.raw !== "string") return "raw: expected a string";
  if (r.symbol !== undefined && r.symbol !== null && typeof r.symbol !== "string") return "symbol: expected a string";
  let source: ParsedRecord["source"];
  if (r.source !== undefined && r.source !== null) {
    const s = r.source as Record<string, unknown>;
    const offset = typeof s.offset === "string" && /^\d{1,19}$/.test(s.offset) ? BigInt(s.offset) : undefined;
    if (!Number.isSafeInteger(s.partition) || (s.partition as number) < 0 || offset === undefined) {
      return "source: expected {partition, offset}";
    }
    source = { partition: s.partition as number, offset };
  }
  return {
    schema_version: Number.isSafeInteger(r.schema_version) ? r.schema_version as number : null,
    reason: r.reason,
    detail: typeof r.detail === "string" ? r.detail : "",
    received_at_ms: r.received_at_ms,
    raw: r.raw,
    raw_length: Number.isSafeInteger(r.raw_length) ? r.raw_length as number : r.raw.length,
    raw_truncated: typeof r.raw_truncated === "boolean" ? r.raw_truncated : false,
    symbol: typeof r.symbol === "string" ? r.symbol : null,
    source,
  };
}

function datable(ms: unknown): ms is number {
  return Number.isSafeInteger(ms) && (ms as number) >= 0 && (ms as number) <= MAX_DATE_MS;
}
