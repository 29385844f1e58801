/**
 * Kline reconciliation: our 1-minute candles (marts.fct_candles_1m) against the exchange's own 1-minute klines, one
 * verdict per pair and minute in marts.fct_kline_reconciliation.
 *
 * The module reads as the job runs: parse a kline → compare a minute → choose the minutes due → group them into
 * klines requests → fetch → record. Everything before the fetch is pure; the fetch and the database steps take their
 * I/O (a `fetch`, a DuckDB connection) as arguments.
 *
 * How quote volumes are compared (quote_volume, taker_buy_quote_volume): the exchange shows 8 decimals, our candles
 * hold the exact Σ price × qty with 16. REFERENCE.md §2 only says "Σ price·qty"; the local exchange
 * (exchange/klines.ts) sums each trade's quoteQty, which is price × qty truncated toward zero to 8 decimals
 * (decimal.ts `multiplyUnits`). So ours is truncated to 8 decimals too and then compared exactly, like every other
 * field. That is exact whenever each trade's price × qty fits in 8 decimals (tick × step ≥ 10⁻⁸: every generated
 * trade, BTCUSDT, ETHUSDT…). For a pair whose products need more decimals, truncating each trade can leave the
 * exchange's sum up to trade_count × 10⁻⁸ below ours: such a minute shows as a quote volume mismatch with a small
 * positive difference, which says what happened rather than hiding it behind a tolerance.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { DECIMALS, formatUnits, parseUnits } from "../decimal.ts";
import { RateLimitedError } from "../ingest/backfill.ts";

export { RateLimitedError };

/** One minute, in milliseconds. */
export const MINUTE_MS = 60_000;
/** The most klines one `GET /api/v3/klines` returns. */
export const MAX_KLINES_PER_REQUEST = 1000;
/** Request weight of one klines request (REFERENCE.md §2). */
export const KLINES_WEIGHT = 2;
/**
 * Weight one run may spend: a tenth of Binance's 6,000 per minute, so the producer's REST backfill, which shares
 * the IP's budget, always has room. 300 requests cover up to 300,000 minutes.
 */
export const DEFAULT_WEIGHT_BUDGET = 600;

/** The fields compared, named as the columns of fct_candles_1m, in the order they are reported. */
export const COMPARED_FIELDS = [
  "open",
  "high",
  "low",
  "close",
  "volume",
  "quote_volume",
  "trade_count",
  "taker_buy_volume",
  "taker_buy_quote_volume",
] as const;
export type ComparedField = typeof COMPARED_FIELDS[number];

/** Fields that add up over trades: what a side without trades still has (zero), unlike prices. */
export const ADDITIVE_FIELDS: readonly ComparedField[] = [
  "volume",
  "quote_volume",
  "trade_count",
  "taker_buy_volume",
  "taker_buy_quote_volume",
];

/** One minute's nine values on one side; decimals in units of 10⁻⁸. */
export type MinuteValues = { [F in ComparedField]: F extends "trade_count" ? number : bigint };

/** What a check concluded. */
export type Status = "match" | "mismatch" | "missing_candle" | "missing_kline";
export const STATUSES: readonly Status[] = ["match", "mismatch", "missing_candle", "missing_kline"];

/** One differing field: both values and ours − exchange, as decimal strings (trade_count as numbers). */
export interface FieldDifference {
  ours: string | number;
  exchange: string | number;
  difference: string | number;
}

/** The verdict on one minute. */
export interface MinuteCheck {
  status: Status;
  mismatchedFields: ComparedField[];
  differences: Partial<Record<ComparedField, FieldDifference>>;
}

// ---- parsing ---------------------------------------------------------------------------------------------------

/** A kline of `GET /api/v3/klines`, with its open time in ms. */
export interface Kline {
  openTimeMs: number;
  values: MinuteValues;
}

/**
 * Parses one kline array `[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBuyBase,
 * takerBuyQuote, ignore]` exactly: decimals become units, never floats.
 *
 * @throws {TypeError} When it is not a 1-minute kline array of that shape.
 * @throws {SyntaxError} When a decimal is not digits with at most 8 decimals.
 */
export function parseKline(row: unknown): Kline {
  if (!Array.isArray(row) || row.length < 11) {
    throw new TypeError(`Cannot parse kline: expected an array of 12 fields, got ${JSON.stringify(row)}`);
  }
  const [openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBuyBase, takerBuyQuote] = row;
  if (!Number.isSafeInteger(openTime) || closeTime !== openTime + MINUTE_MS - 1) {
    throw new TypeError(`Cannot parse kline: expected a 1m open and close time in ms, got ${openTime}, ${closeTime}`);
  }
  if (!Number.isSafeInteger(trades) || trades < 0) {
    throw new TypeError(`Cannot parse kline: expected a whole number of trades, got ${JSON.stringify(trades)}`);
  }
  return {
    openTimeMs: openTime,
    values: {
      open: exchangeUnits(open),
      high: exchangeUnits(high),
      low: exchangeUnits(low),
      close: exchangeUnits(close),
      volume: exchangeUnits(volume),
      quote_volume: exchangeUnits(quoteVolume),
      trade_count: trades,
      taker_buy_volume: exchangeUnits(takerBuyBase),
      taker_buy_quote_volume: exchangeUnits(takerBuyQuote),
    },
  };
}

/**
 * Our candle's values, from DuckDB's text form of its DECIMALs: quote volumes truncated to 8 decimals the way the
 * exchange truncates each trade's quoteQty (see the module doc), every other field exact.
 *
 * @throws {RangeError} When a price or base volume has non-zero digits past 8 decimals (it cannot match exactly).
 */
export function candleValues(row: Readonly<Record<ComparedField, string>>): MinuteValues {
  const count = Number(row.trade_count);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`Cannot compare trade_count "${row.trade_count}": expected a whole number`);
  }
  return {
    open: ourUnits(row.open, "exact"),
    high: ourUnits(row.high, "exact"),
    low: ourUnits(row.low, "exact"),
    close: ourUnits(row.close, "exact"),
    volume: ourUnits(row.volume, "exact"),
    quote_volume: ourUnits(row.quote_volume, "truncate"),
    trade_count: count,
    taker_buy_volume: ourUnits(row.taker_buy_volume, "exact"),
    taker_buy_quote_volume: ourUnits(row.taker_buy_quote_volume, "truncate"),
  };
}

function exchangeUnits(value: unknown): bigint {
  if (typeof value !== "string") throw new TypeError(`Cannot parse kline: expected a decimal string, got ${value}`);
  return parseUnits(value);
}

/** A plain decimal of any length as units of 10⁻⁸; "truncate" drops further digits toward zero. */
export function ourUnits(text: string, rounding: "exact" | "truncate"): bigint {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!match) throw new SyntaxError(`Cannot parse decimal: expected digits with an optional point, got "${text}"`);
  const fraction = match[2] ?? "";
  if (rounding === "exact" && /[1-9]/.test(fraction.slice(DECIMALS))) {
    throw new RangeError(`Cannot compare ${text} exactly: it has more than ${DECIMALS} decimals`);
  }
  return parseUnits(`${match[1]}.${fraction.slice(0, DECIMALS)}`);
}

// ---- comparing -------------------------------------------------------------------------------------------------

const NO_TRADES: MinuteValues = {
  open: 0n,
  high: 0n,
  low: 0n,
  close: 0n,
  volume: 0n,
  quote_volume: 0n,
  trade_count: 0,
  taker_buy_volume: 0n,
  taker_buy_quote_volume: 0n,
};

/**
 * Compares one minute. A side without trades (no candle; no kline, or Binance's flat zero-trade kline) has no
 * prices, so when only one side traded the status is missing_candle or missing_kline and only the additive fields
 * are reported, the silent side counting as zero. Neither side trading is a match.
 *
 * @example
 * ```ts
 * compareMinute(undefined, undefined).status; // "match"
 * ```
 */
export function compareMinute(ours: MinuteValues | undefined, exchange: MinuteValues | undefined): MinuteCheck {
  const oursTraded = (ours?.trade_count ?? 0) > 0;
  const exchangeTraded = (exchange?.trade_count ?? 0) > 0;
  if (!oursTraded && !exchangeTraded) return { status: "match", mismatchedFields: [], differences: {} };
  const fields = oursTraded && exchangeTraded ? COMPARED_FIELDS : ADDITIVE_FIELDS;
  const left = oursTraded ? ours! : NO_TRADES;
  const right = exchangeTraded ? exchange! : NO_TRADES;
  const differences: Partial<Record<ComparedField, FieldDifference>> = {};
  for (const field of fields) {
    const a = left[field];
    const b = right[field];
    if (a === b) continue;
    differences[field] = typeof a === "number"
      ? { ours: a, exchange: b as number, difference: a - (b as number) }
      : { ours: formatUnits(a), exchange: formatUnits(b as bigint), difference: formatUnits(a - (b as bigint)) };
  }
  const mismatchedFields = COMPARED_FIELDS.filter((field) => field in differences);
  const status: Status = !oursTraded
    ? "missing_candle"
    : !exchangeTraded
    ? "missing_kline"
    : mismatchedFields.length > 0
    ? "mismatch"
    : "match";
  return { status, mismatchedFields, differences };
}

// ---- choosing minutes ------------------------------------------------------------------------------------------

/**
 * The open time of the last minute that may be checked: closed, plus `settleMs` for late trades to reach the lake,
 * before both the clock and the last refresh (trades the refresh had not seen are not in the candles yet).
 */
export function lastCheckableMinuteMs(nowMs: number, refreshedAtMs: number | undefined, settleMs: number): number {
  const asOfMs = Math.min(nowMs, refreshedAtMs ?? nowMs);
  return Math.floor((asOfMs - settleMs - MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
}

/**
 * Why a minute is due: `changed` our candle differs from the one last checked (a refresh changed it: late trades,
 * a repair), `recheck` the last verdict was not a match and it has been checked fewer than the allowed times (the
 * exchange side can lag too), `new` never checked.
 */
export type DueReason = "changed" | "recheck" | "new";
const PRIORITY: Record<DueReason, number> = { changed: 0, recheck: 1, new: 2 };

/** A minute of a pair to check. */
export interface DueMinute {
  pair: string;
  minuteMs: number;
  reason: DueReason;
}

/**
 * The minutes to check this run: each minute once under its most urgent reason, changed before rechecks before
 * new ones, oldest first, at most `maxMinutes`.
 */
export function selectMinutes<T extends DueMinute>(due: readonly T[], maxMinutes: number): T[] {
  const byKey = new Map<string, T>();
  for (const minute of due) {
    const key = `${minute.pair}@${minute.minuteMs}`;
    const known = byKey.get(key);
    if (!known || PRIORITY[minute.reason] < PRIORITY[known.reason]) byKey.set(key, minute);
  }
  return [...byKey.values()]
    .sort((a, b) => PRIORITY[a.reason] - PRIORITY[b.reason] || a.minuteMs - b.minuteMs || a.pair.localeCompare(b.pair))
    .slice(0, maxMinutes);
}

// ---- planning requests -----------------------------------------------------------------------------------------

/** One `GET /api/v3/klines` for a pair's minutes from `firstMinuteMs` to `lastMinuteMs` (open times). */
export interface KlinesRequest {
  pair: string;
  firstMinuteMs: number;
  lastMinuteMs: number;
  /** Klines in the range: the request's `limit`. */
  limit: number;
  /** The due minutes it answers; the others in the range were checked already. */
  minutes: number[];
}

/** The requests to send and how many due minutes wait for a later run because of the weight budget. */
export interface RequestPlan {
  requests: KlinesRequest[];
  deferredMinutes: number;
}

/**
 * Groups minutes into klines requests: per pair, a request spans from its first due minute up to 1000 minutes (the
 * minutes between, already checked, cost nothing extra), oldest first, and only as many requests as `weightBudget`
 * pays for.
 */
export function planRequests(
  minutes: readonly Pick<DueMinute, "pair" | "minuteMs">[],
  options: { weightBudget?: number; maxKlines?: number } = {},
): RequestPlan {
  const { weightBudget = DEFAULT_WEIGHT_BUDGET, maxKlines = MAX_KLINES_PER_REQUEST } = options;
  const byPair = new Map<string, Set<number>>();
  for (const { pair, minuteMs } of minutes) {
    if (minuteMs % MINUTE_MS !== 0) throw new RangeError(`Cannot plan minute ${minuteMs}: expected a whole minute`);
    (byPair.get(pair) ?? byPair.set(pair, new Set()).get(pair)!).add(minuteMs);
  }
  const requests: KlinesRequest[] = [];
  for (const [pair, set] of byPair) {
    let current: KlinesRequest | undefined;
    for (const minuteMs of [...set].sort((a, b) => a - b)) {
      if (current && minuteMs - current.firstMinuteMs < maxKlines * MINUTE_MS) {
        current.lastMinuteMs = minuteMs;
        current.limit = (minuteMs - current.firstMinuteMs) / MINUTE_MS + 1;
        current.minutes.push(minuteMs);
        continue;
      }
      current = { pair, firstMinuteMs: minuteMs, lastMinuteMs: minuteMs, limit: 1, minutes: [minuteMs] };
      requests.push(current);
    }
  }
  requests.sort((a, b) => a.firstMinuteMs - b.firstMinuteMs || a.pair.localeCompare(b.pair));
  const affordable = Math.max(0, Math.floor(weightBudget / KLINES_WEIGHT));
  const deferredMinutes = requests.slice(affordable).reduce((sum, request) => sum + request.minutes.length, 0);
  return { requests: requests.slice(0, affordable), deferredMinutes };
}

/** The URL of a klines request: open times from the first minute to the last one's close, in ms. */
export function klinesUrl(restUrl: URL, request: KlinesRequest): URL {
  const url = new URL("/api/v3/klines", restUrl);
  url.search = new URLSearchParams({
    symbol: request.pair,
    interval: "1m",
    startTime: String(request.firstMinuteMs),
    // the last minute's close time: covers it whether the exchange filters on open or on close time
    endTime: String(request.lastMinuteMs + MINUTE_MS - 1),
    limit: String(request.limit),
  }).toString();
  return url;
}

// ---- fetching --------------------------------------------------------------------------------------------------

/** The exchange could not be reached or answered something unusable. */
export class KlinesFetchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KlinesFetchError";
  }
}

/**
 * Fetches one klines request, keyed by open time.
 *
 * @throws {RateLimitedError} On 429 or 418, with the `Retry-After` the exchange asks (as the producer's backfill).
 * @throws {KlinesFetchError} On a network failure, another error status or a malformed answer.
 */
export async function fetchKlines(
  restUrl: URL,
  request: KlinesRequest,
  fetchImpl: typeof fetch = fetch,
): Promise<Map<number, MinuteValues>> {
  const url = klinesUrl(restUrl, request);
  const what = `klines ${request.pair} from ${new Date(request.firstMinuteMs).toISOString()}`;
  let response: Response;
  try {
    response = await fetchImpl(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new KlinesFetchError(`Cannot fetch ${what}: ${(error as Error).message}`, { cause: error });
  }
  if (response.status === 429 || response.status === 418) {
    await response.body?.cancel();
    const seconds = Number(response.headers.get("retry-after"));
    const fallback = response.status === 418 ? 120_000 : 60_000;
    throw new RateLimitedError(response.status, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : fallback);
  }
  if (!response.ok) {
    throw new KlinesFetchError(
      `Cannot fetch ${what}: answered ${response.status} ${(await response.text()).slice(0, 200)}`,
    );
  }
  try {
    const body: unknown = await response.json();
    if (!Array.isArray(body)) throw new TypeError("Cannot parse klines: expected a list");
    return new Map(body.map(parseKline).map((kline) => [kline.openTimeMs, kline.values]));
  } catch (error) {
    throw new KlinesFetchError(`Cannot use ${what}: ${(error as Error).message}`, { cause: error });
  }
}

// ---- the run ---------------------------------------------------------------------------------------------------

/** How to run one reconciliation. */
export interface ReconcileSettings {
  restUrl: URL;
  nowMs: number;
  /** Seconds after a minute closes before it is checked. */
  settleSeconds: number;
  /** Most minutes checked in one run. */
  maxMinutes: number;
  /** A minute whose verdict is not a match is checked at most this many times while our candle stays the same. */
  maxChecks: number;
  /** @default DEFAULT_WEIGHT_BUDGET */
  weightBudget?: number;
  fetchImpl?: typeof fetch;
}

/** The verdict on one minute, as recorded. */
export interface MinuteResult extends MinuteCheck {
  pair: string;
  minuteMs: number;
  reason: DueReason;
  /** md5 of our candle's nine values as checked ('' without a candle): a later change makes the minute due again. */
  candleHash: string;
}

/** What a run did. */
export type ReconcileReport =
  | { status: "not_built"; missing: string }
  | {
    status: "checked";
    /** The last minute that was old enough to check. */
    lastCheckableMs: number;
    results: MinuteResult[];
    requests: number;
    /** Due minutes left for a later run (--max-minutes, the weight budget, or a 429). */
    deferredMinutes: number;
    rateLimited?: { status: number; retryAfterMs: number };
  };

const RECONCILIATION = "marts.fct_kline_reconciliation";
const CANDLES = "marts.fct_candles_1m";

/**
 * Checks the due minutes against the exchange and records the verdicts in the database `connection` holds (the
 * private copy builder.ts `updatePublishedDatabase` gives, so a failure records nothing). A 429 stops the fetching; what
 * was fetched before it is recorded.
 */
export async function reconcileCandles(
  connection: DuckDBConnection,
  settings: ReconcileSettings,
): Promise<ReconcileReport> {
  for (const table of [CANDLES, RECONCILIATION]) {
    if (!await tableExists(connection, table)) return { status: "not_built", missing: table };
  }
  const refreshed = await readRows<{ ms: string | null }>(
    connection,
    "select epoch_ms(max(started_at))::varchar as ms from meta.refresh_runs",
  );
  const refreshedAtMs = refreshed[0]?.ms == null ? undefined : Number(refreshed[0].ms);
  const lastCheckableMs = lastCheckableMinuteMs(settings.nowMs, refreshedAtMs, settings.settleSeconds * 1000);

  const due = await readDueMinutes(connection, lastCheckableMs, settings);
  const chosen = selectMinutes(due.minutes, settings.maxMinutes);
  const plan = planRequests(chosen, { weightBudget: settings.weightBudget ?? DEFAULT_WEIGHT_BUDGET });
  const ours = new Map(chosen.map((minute) => [`${minute.pair}@${minute.minuteMs}`, minute]));

  const results: MinuteResult[] = [];
  let rateLimited: { status: number; retryAfterMs: number } | undefined;
  let sent = 0;
  for (const request of plan.requests) {
    let klines: Map<number, MinuteValues>;
    try {
      klines = await fetchKlines(settings.restUrl, request, settings.fetchImpl);
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      rateLimited = { status: error.status, retryAfterMs: error.retryAfterMs };
      break;
    }
    sent++;
    for (const minuteMs of request.minutes) {
      const { pair, reason, candle, candleHash } = ours.get(`${request.pair}@${minuteMs}`)!;
      results.push({ pair, minuteMs, reason, candleHash, ...compareMinute(candle, klines.get(minuteMs)) });
    }
  }
  await recordResults(connection, results, settings.nowMs);
  return {
    status: "checked",
    lastCheckableMs,
    results,
    requests: sent,
    deferredMinutes: due.total - results.length,
    ...(rateLimited ? { rateLimited } : {}),
  };
}

interface DueCandle extends DueMinute {
  candle: MinuteValues | undefined;
  candleHash: string;
}

/**
 * The oldest due minutes of each reason (at most `maxMinutes` each) with our candle, and how many are due in all.
 * The reasons are disjoint. Per pair only minutes from its first to its last candle count: a gap between them is a
 * minute we lost, but minutes after the last candle may just not be captured yet (or the pair was dropped from
 * SYMBOLS), and minutes before the first may have left the lake by retention.
 */
async function readDueMinutes(
  connection: DuckDBConnection,
  lastCheckableMs: number,
  settings: Pick<ReconcileSettings, "maxMinutes" | "maxChecks">,
): Promise<{ minutes: DueCandle[]; total: number }> {
  const limit = Math.trunc(settings.maxMinutes);
  const rows = await readRows<Record<string, string | null>>(
    connection,
    `with
candles as (
  select
    pair,
    minute_at,
    open::varchar as open,
    high::varchar as high,
    low::varchar as low,
    close::varchar as close,
    volume::varchar as volume,
    quote_volume::varchar as quote_volume,
    trade_count::varchar as trade_count,
    taker_buy_volume::varchar as taker_buy_volume,
    taker_buy_quote_volume::varchar as taker_buy_quote_volume
  from ${CANDLES}
),
hashed as (
  select
    *,
    md5(concat_ws('|', open, high, low, close, volume, quote_volume, trade_count, taker_buy_volume,
      taker_buy_quote_volume)) as candle_hash
  from candles
),
pair_ranges as (
  select
    pair,
    min(minute_at) as first_minute_at,
    least(max(minute_at), make_timestamp(${lastCheckableMs * 1000})) as last_minute_at
  from candles
  group by pair
),
checked as (
  select reconciled.pair, reconciled.minute_at, reconciled.status, reconciled.checks, reconciled.candle_hash
  from ${RECONCILIATION} as reconciled
  inner join pair_ranges as ranges
    on ranges.pair = reconciled.pair
    and reconciled.minute_at between ranges.first_minute_at and ranges.last_minute_at
),
expected as (
  select pair, unnest(generate_series(first_minute_at, last_minute_at, interval 1 minute)) as minute_at
  from pair_ranges
  where first_minute_at <= last_minute_at
),
new_minutes as (
  select expected.pair, expected.minute_at, 'new' as reason, count(*) over () as total
  from expected
  anti join checked on checked.pair = expected.pair and checked.minute_at = expected.minute_at
  order by expected.minute_at, expected.pair
  limit ${limit}
),
changed_minutes as (
  select checked.pair, checked.minute_at, 'changed' as reason, count(*) over () as total
  from checked
  left join hashed on hashed.pair = checked.pair and hashed.minute_at = checked.minute_at
  where checked.candle_hash <> coalesce(hashed.candle_hash, '')
  order by checked.minute_at, checked.pair
  limit ${limit}
),
recheck_minutes as (
  select checked.pair, checked.minute_at, 'recheck' as reason, count(*) over () as total
  from checked
  left join hashed on hashed.pair = checked.pair and hashed.minute_at = checked.minute_at
  where checked.candle_hash = coalesce(hashed.candle_hash, '')
    and checked.status <> 'match'
    and checked.checks < ${Math.trunc(settings.maxChecks)}
  order by checked.minute_at, checked.pair
  limit ${limit}
),
due as (
  select * from changed_minutes
  union all select * from recheck_minutes
  union all select * from new_minutes
)
select
  due.pair,
  epoch_ms(due.minute_at)::varchar as minute_ms,
  due.reason,
  due.total::varchar as total,
  hashed.open,
  hashed.high,
  hashed.low,
  hashed.close,
  hashed.volume,
  hashed.quote_volume,
  hashed.trade_count,
  hashed.taker_buy_volume,
  hashed.taker_buy_quote_volume,
  coalesce(hashed.candle_hash, '') as candle_hash
from due
left join hashed on hashed.pair = due.pair and hashed.minute_at = due.minute_at`,
  );
  const totals = new Map(rows.map((row) => [row.reason, Number(row.total)]));
  return {
    minutes: rows.map((row) => ({
      pair: row.pair!,
      minuteMs: Number(row.minute_ms),
      reason: row.reason as DueReason,
      candle: row.trade_count === null ? undefined : candleValues(row as Record<ComparedField, string>),
      candleHash: row.candle_hash!,
    })),
    total: [...totals.values()].reduce((sum, n) => sum + n, 0),
  };
}

/** Upserts the verdicts: one row per pair and minute, `checks` counting every check. */
async function recordResults(
  connection: DuckDBConnection,
  results: readonly MinuteResult[],
  checkedAtMs: number,
): Promise<void> {
  if (results.length === 0) return;
  await connection.run(
    "create or replace temp table reconciled (pair varchar, minute_at timestamp, checked_at timestamp, " +
      "status varchar, mismatched_fields varchar, differences varchar, candle_hash varchar)",
  );
  const checkedAt = `make_timestamp(${Math.trunc(checkedAtMs) * 1000})`;
  for (let start = 0; start < results.length; start += 500) {
    const values = results.slice(start, start + 500).map((result) =>
      `(${sqlString(result.pair)}, make_timestamp(${result.minuteMs * 1000}), ${checkedAt}, ` +
      `${sqlString(result.status)}, ${sqlString(result.mismatchedFields.join(","))}, ` +
      `${sqlString(JSON.stringify(result.differences))}, ` +
      `${sqlString(result.candleHash)})`
    );
    await connection.run(`insert into reconciled values ${values.join(",\n")}`);
  }
  await connection.run(`
    create or replace temp table reconciled_counted as
    select fresh.*, coalesce(previous.checks, 0) + 1 as checks
    from reconciled as fresh
    left join ${RECONCILIATION} as previous on previous.pair = fresh.pair and previous.minute_at = fresh.minute_at;
    delete from ${RECONCILIATION} as previous
    using reconciled as fresh
    where previous.pair = fresh.pair and previous.minute_at = fresh.minute_at;
    insert into ${RECONCILIATION} by name select * from reconciled_counted;
    drop table reconciled;
    drop table reconciled_counted;`);
}

async function tableExists(connection: DuckDBConnection, id: string): Promise<boolean> {
  const [schema, name] = id.split(".") as [string, string];
  const rows = await readRows<{ n: number }>(
    connection,
    `select count(*)::integer as n from information_schema.tables ` +
      `where table_schema = ${sqlString(schema)} and table_name = ${sqlString(name)}`,
  );
  return rows[0]!.n > 0;
}

/** `value` as a SQL string literal (as duckdb.ts's, which would load DuckDB's native binding on import here). */
function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

async function readRows<T>(connection: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJson() as T[];
}

// ---- reporting -------------------------------------------------------------------------------------------------

/** How many verdicts of each status a run gave. */
export function countStatuses(results: readonly Pick<MinuteResult, "status">[]): Record<Status, number> {
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<Status, number>;
  for (const result of results) counts[result.status]++;
  return counts;
}

/** The run's closing report: one summary line, then up to `shown` minutes that did not match with their differences. */
export function formatReport(report: Extract<ReconcileReport, { status: "checked" }>, shown = 3): string {
  const counts = countStatuses(report.results);
  const pairs = new Set(report.results.map((result) => result.pair)).size;
  const lines: string[] = [];
  if (report.results.length === 0 && report.deferredMinutes === 0) {
    lines.push(`reconcile: nothing to check: every minute up to ${minuteText(report.lastCheckableMs)} UTC is checked`);
  } else {
    lines.push(
      `reconcile: checked ${count(report.results.length, "minute")} of ${count(pairs, "pair")} in ` +
        `${count(report.requests, "klines request")}: ` +
        STATUSES.map((status) => `${counts[status]} ${status}`).join(", ") +
        (report.deferredMinutes > 0 ? `; ${count(report.deferredMinutes, "minute")} left for the next run` : "") +
        (report.rateLimited
          ? `; stopped early: the exchange answered ${report.rateLimited.status}, retry after ` +
            `${Math.ceil(report.rateLimited.retryAfterMs / 1000)} s`
          : ""),
    );
  }
  for (const result of report.results.filter((r) => r.status !== "match").slice(0, shown)) {
    const fields = result.mismatchedFields.map((field) => {
      const d = result.differences[field]!;
      return `${field} ours ${d.ours} exchange ${d.exchange} (${d.difference})`;
    });
    lines.push(`  ${result.pair} ${minuteText(result.minuteMs)} ${result.status}: ${fields.join(", ")}`);
  }
  return lines.join("\n");
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function minuteText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}
