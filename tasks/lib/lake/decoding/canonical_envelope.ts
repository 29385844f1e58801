/**
 * Reads the envelope exactly as our producer writes it with one regular expression instead of JSON.parse and a
 * field-by-field validation: those took a third of the consumer's time on text whose layout is known. Pure.
 *
 * The layout is the v1 envelope's fields in the producer's order around the exchange's trade text in the
 * exchange's order (`E` absent on backfilled trades, `M` optional), no whitespace, no escapes; a usdm envelope adds
 * `"market":"usdm"` after `source` around a futures trade (`T` after `E`, `X`, no `M`), and a healed trade's envelope
 * may carry `source_prev_id` before `trade`. Anything else, and
 * anything the general decoder might judge differently (a leading zero, a number of 16 digits, a zero price),
 * returns undefined, and the caller decodes the record the general way. So every row read here is the row the
 * general decoder would give; the tests check it on generated and mutated envelopes.
 */
import type { LakeRow } from "./lake_row.ts";
import { hivePartitionOf } from "../storage/partition.ts";
import type { FuturesTradeType, Market } from "../../market.ts";

// Ids and ingest times: at most 15 digits, so safe integers. Times: up to 16 digits (µs), bounded below.
// Decimals: at most 12 whole and 8 fraction digits, so DECIMAL(20, 8) holds them.
const ENVELOPE_HEAD = String.raw`"time_unit":"(ms|us)","ingested_at_ms":([1-9]\d{0,14}),"backfilled":(true|false),` +
  String.raw`(?:"source_prev_id":(0|[1-9]\d{0,14}),)?"trade":\{"e":"trade",(?:"E":([1-9]\d{0,15}),)?`;
const DECIMAL = String.raw`"(\d{1,12}(?:\.\d{1,8})?)"`;
const SPOT_ENVELOPE = new RegExp(
  "^" + String.raw`\{"schema_version":1,"source":"binance",` + ENVELOPE_HEAD +
    String.raw`"s":"([A-Z0-9]{2,20})","t":(0|[1-9]\d{0,14}),"p":${DECIMAL},"q":${DECIMAL},` +
    String.raw`"T":([1-9]\d{0,15}),"m":(true|false)(?:,"M":(true|false))?\}\}` + "$",
);
const USDM_ENVELOPE = new RegExp(
  "^" + String.raw`\{"schema_version":1,"source":"binance","market":"usdm",` + ENVELOPE_HEAD +
    String.raw`"T":([1-9]\d{0,15}),"s":"([A-Z0-9]{2,20})","t":(0|[1-9]\d{0,14}),"p":${DECIMAL},"q":${DECIMAL},` +
    String.raw`"X":"(MARKET|INSURANCE_FUND|ADL|NA)","m":(true|false)\}\}` + "$",
);

// The validator's bound: a time at or beyond 2100-01-01 in µs is not a time.
const MAX_TIME_US = 4_102_444_800_000_000;
const NON_ZERO_DIGIT = /[1-9]/;

/**
 * The row of a record in the producer's own layout of `market`, or undefined when `value` is laid out any other way
 * (another market's records too: the general decoder gives their reason).
 */
export function readCanonicalEnvelope(
  value: string,
  kafkaPartition: number,
  kafkaOffset: bigint,
  market: Market = "spot",
): LakeRow | undefined {
  // Spot envelopes go on `{"schema_version":1,"source":"binance","t…`, usdm ones `…","m…`.
  const usdm = value.charCodeAt(40) === 0x6d;
  if (usdm !== (market === "usdm")) return undefined;
  const match = (usdm ? USDM_ENVELOPE : SPOT_ENVELOPE).exec(value);
  if (match === null) return undefined;
  const [, unit, ingestedAt, backfilled, sourcePrevText, eventTimeText] = match as unknown as string[];
  // The trade's fields come in another order on futures.
  const symbol = usdm ? match[7] : match[6];
  const tradeId = usdm ? match[8] : match[7];
  const price = usdm ? match[9] : match[8];
  const quantity = usdm ? match[10] : match[9];
  const tradeTimeText = usdm ? match[6] : match[10];
  const maker = usdm ? match[12] : match[11];
  const best = usdm ? undefined : match[12];
  const tradeTime = Number(tradeTimeText);
  const eventTime = eventTimeText === undefined ? undefined : Number(eventTimeText);
  const isBackfilled = backfilled === "true";
  // Stream trades must carry E; zero prices and out-of-range times: the general decoder says why.
  if (eventTime === undefined && !isBackfilled) return undefined;
  if (tradeTime >= MAX_TIME_US || (eventTime !== undefined && eventTime >= MAX_TIME_US)) return undefined;
  if (!NON_ZERO_DIGIT.test(price!) || !NON_ZERO_DIGIT.test(quantity!)) return undefined;
  const id = Number(tradeId);
  const sourcePrevId = sourcePrevText === undefined ? undefined : Number(sourcePrevText);
  if (sourcePrevId !== undefined && sourcePrevId >= id) return undefined;

  const toUs = unit === "us" ? 1 : 1000;
  let partition;
  try {
    partition = hivePartitionOf(symbol!, tradeTime * toUs);
  } catch {
    return undefined;
  }
  const row: LakeRow = {
    partition,
    tradeId: id,
    price: price!,
    quantity: quantity!,
    tradeTimeUs: tradeTime * toUs,
    eventTimeUs: eventTime === undefined ? null : eventTime * toUs,
    timeUnit: unit as "ms" | "us",
    isBuyerMaker: maker === "true",
    isBestMatch: best === undefined ? null : best === "true",
    ingestedAtMs: Number(ingestedAt),
    isBackfilled,
    schemaVersion: 1,
    producerId: null,
    kafkaPartition,
    kafkaOffset,
  };
  // Set only when present (a spread costs every row an object), as the general decoder leaves them out.
  if (usdm) row.tradeType = match[11] as FuturesTradeType;
  if (sourcePrevId !== undefined) row.sourcePrevTradeId = sourcePrevId;
  return row;
}
