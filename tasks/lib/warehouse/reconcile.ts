/**
 * Kline reconciliation: our 1-minute candles (marts.fct_candles_1m) against the exchange's own 1-minute klines, one
 * verdict per market, pair and minute in marts.fct_kline_reconciliation. A run checks one market (MARKET): its
 * candles against its own klines endpoint (spot `/api/v3/klines`, usdm `/fapi/v1/klines`, which counts only X =
 * MARKET trades, as our usdm candles do).
 *
 * The module reads as one run goes: read the due minutes with our candles → choose and plan them (kline_plan.ts) →
 * fetch (klines_client.ts) → compare (kline_compare.ts) → record → report. The database steps take their DuckDB
 * connection as an argument.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import {
  candleValues,
  type ComparedField,
  compareMinute,
  countStatuses,
  type MinuteCheck,
  type MinuteValues,
  STATUSES,
} from "./kline_compare.ts";
import {
  DEFAULT_WEIGHT_BUDGET,
  type DueMinute,
  type DueReason,
  lastCheckableMinuteMs,
  planRequests,
  selectMinutes,
} from "./kline_plan.ts";
import { fetchKlines, RateLimitedError } from "./klines_client.ts";
import type { Market } from "../market.ts";

// ---- the run ---------------------------------------------------------------------------------------------------

/** How to run one reconciliation. */
export interface ReconcileSettings {
  /** Whose candles and klines endpoint. @default "spot" */
  market?: Market;
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
    /** The market checked. @default "spot" */
    market?: Market;
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

  const market = settings.market ?? "spot";
  const due = await readDueMinutes(connection, market, lastCheckableMs, settings);
  const chosen = selectMinutes(due.minutes, settings.maxMinutes);
  const plan = planRequests(chosen, { weightBudget: settings.weightBudget ?? DEFAULT_WEIGHT_BUDGET });
  const ours = new Map(chosen.map((minute) => [`${minute.pair}@${minute.minuteMs}`, minute]));

  const results: MinuteResult[] = [];
  let rateLimited: { status: number; retryAfterMs: number } | undefined;
  let sent = 0;
  for (const request of plan.requests) {
    let klines: Map<number, MinuteValues>;
    try {
      klines = await fetchKlines(settings.restUrl, request, settings.fetchImpl, market);
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
  await recordResults(connection, market, results, settings.nowMs);
  return {
    status: "checked",
    market,
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
  market: Market,
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
  where market = ${sqlString(market)}
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
    on reconciled.market = ${sqlString(market)}
    and ranges.pair = reconciled.pair
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

/** Upserts the verdicts of `market`: one row per market, pair and minute, `checks` counting every check. */
async function recordResults(
  connection: DuckDBConnection,
  market: Market,
  results: readonly MinuteResult[],
  checkedAtMs: number,
): Promise<void> {
  if (results.length === 0) return;
  await connection.run(
    "create or replace temp table reconciled (market varchar, pair varchar, minute_at timestamp, checked_at timestamp, " +
      "status varchar, mismatched_fields varchar, differences varchar, candle_hash varchar)",
  );
  const checkedAt = `make_timestamp(${Math.trunc(checkedAtMs) * 1000})`;
  for (let start = 0; start < results.length; start += 500) {
    const values = results.slice(start, start + 500).map((result) =>
      `(${sqlString(market)}, ${sqlString(result.pair)}, make_timestamp(${result.minuteMs * 1000}), ${checkedAt}, ` +
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
    left join ${RECONCILIATION} as previous
      on previous.market = fresh.market and previous.pair = fresh.pair and previous.minute_at = fresh.minute_at;
    delete from ${RECONCILIATION} as previous
    using reconciled as fresh
    where previous.market = fresh.market and previous.pair = fresh.pair and previous.minute_at = fresh.minute_at;
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

/** The run's closing report: one summary line, then up to `shown` minutes that did not match with their differences. */
export function formatReport(report: Extract<ReconcileReport, { status: "checked" }>, shown = 3): string {
  const counts = countStatuses(report.results);
  const pairs = new Set(report.results.map((result) => result.pair)).size;
  const lines: string[] = [];
  // spot's lines read as they did before markets existed
  const task = report.market === undefined || report.market === "spot" ? "reconcile" : `reconcile ${report.market}`;
  if (report.results.length === 0 && report.deferredMinutes === 0) {
    lines.push(`${task}: nothing to check: every minute up to ${minuteText(report.lastCheckableMs)} UTC is checked`);
  } else {
    lines.push(
      `${task}: checked ${count(report.results.length, "minute")} of ${count(pairs, "pair")} in ` +
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
