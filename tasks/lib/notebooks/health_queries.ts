/**
 * What the pipeline-health notebook shows: latency, freshness and status from the marts over a window ending at the
 * latest health window, the trade-id gaps, the DLQ events, the archive imports against the live capture, and the
 * lake's files per hour (listed, never opened).
 */
import type { HealthThresholds } from "../config.ts";
import { lakeFiles } from "../lake/storage/listing.ts";
import { marketLakeDir, MARKETS } from "../market.ts";
import { epochMs, type Marts, type NoData, withMarts } from "./database.ts";
import type { NotebookParams } from "./params.ts";
import {
  busiestMarket,
  inWindow,
  lastRefresh,
  msDate,
  notebookWindow,
  num,
  PAIR_LABEL_SQL,
  pairLabel,
  pickPair,
  type RefreshInfo,
  type Row,
  type Window,
  windowScorecard,
  windowValues,
} from "./queries.ts";
import type { Scorecard } from "../warehouse/scorecard.ts";

/** Latency percentiles of one minute, ms. */
export interface LatencyMinute {
  minuteAt: Date;
  samples: number;
  ingestP50Ms: number;
  ingestP95Ms: number;
  ingestP99Ms: number;
  lakeP50Ms: number;
  lakeP95Ms: number;
  lakeP99Ms: number;
}

/** The health mart's verdict on one pair and 5-minute window. */
export interface HealthWindow {
  pair: string;
  windowStartAt: Date;
  windowEndAt: Date;
  status: "ok" | "warn" | "stale";
  trades5m: number;
  secondsSinceLastTrade: number;
  secondsSinceLastIngest: number;
  openGaps: number;
  dlqEvents: number;
  ingestP99Ms: number | null;
  klineMatchRate: number | null;
}

/** Dead-letter events of one window and reason. */
export interface DlqWindow {
  windowStartAt: Date;
  windowEndAt: Date;
  reason: string;
  events: number;
}

/** A range of trade ids missing from the lake, open or healed. */
export interface TradeGap {
  pair: string;
  fromTradeId: number;
  toTradeId: number;
  missingCount: number;
  gapAfterAt: Date;
  firstSeenAt: Date;
  status: "open" | "healed";
  /** Where a healed range's trades came from; null while open. */
  healedBy: "rest_backfill" | "archive" | null;
}

/** One pair and day of archive trades against the live capture (marts.fct_archive_reconciliation). */
export interface ArchiveDay {
  pair: string;
  /** `YYYY-MM-DD`, UTC. */
  tradeDate: string;
  archiveTrades: number;
  liveTrades: number;
  /** Trades both copies hold. */
  overlappingTrades: number;
  /** Overlapping trades where a field differs. */
  disagreeingTrades: number;
  /** The fields with any mismatch that day, sorted; empty when the copies agree. */
  differingFields: string[];
}

/** The lake's visible Parquet files of one hour partition (all pairs). */
export interface LakeHour {
  hourStartAt: Date;
  files: number;
  bytes: number;
}

/** Everything 02_pipeline_health.ipynb draws. */
export interface HealthData {
  pair: string;
  window: Window;
  thresholds: HealthThresholds;
  refresh: RefreshInfo | undefined;
  latency: LatencyMinute[];
  health: HealthWindow[];
  dlq: DlqWindow[];
  gaps: TradeGap[];
  /** The days of {@link archiveDays}, newest first. */
  archive: ArchiveDay[];
  lakeHours: LakeHour[];
  /** Every pair's figures over the window: kline checks, gaps, DLQ (the same as the report's headline). */
  scorecard: Scorecard;
  /** The end of the latest minute with live trades of the pair (latency exists only for those); null if none. */
  lastLiveAt: Date | null;
}

/** Reads the health notebook's data, or {@link NoData} when there is nothing (yet) to show. */
export async function loadHealth(params: NotebookParams): Promise<HealthData | NoData> {
  const files = (await Promise.all(MARKETS.map((market) => lakeFiles(marketLakeDir(params.lakeDir, market))))).flat();
  return await withMarts(params.duckdbPath, async (marts) => {
    const window = await notebookWindow(marts, params);
    const market = params.market ?? await busiestMarket(marts, window);
    const picked = await pickPair(marts, window, params.pair, market);
    if (typeof picked !== "string") return picked;
    const values = windowValues(window);
    return {
      pair: pairLabel(picked, market),
      window,
      thresholds: params.thresholds,
      refresh: await lastRefresh(marts),
      latency: (await marts.rows<Row>(LATENCY_SQL, { ...values, pair: picked, market })).map((row) => ({
        minuteAt: msDate(row.minute_ms),
        samples: num(row.sample_count),
        ingestP50Ms: num(row.ingest_p50_ms),
        ingestP95Ms: num(row.ingest_p95_ms),
        ingestP99Ms: num(row.ingest_p99_ms),
        lakeP50Ms: num(row.lake_p50_ms),
        lakeP95Ms: num(row.lake_p95_ms),
        lakeP99Ms: num(row.lake_p99_ms),
      })),
      health: (await marts.rows<Row>(HEALTH_SQL, values)).map(healthWindow),
      dlq: (await marts.rows<Row>(DLQ_SQL, values)).map((row) => ({
        windowStartAt: msDate(row.window_start_ms),
        windowEndAt: msDate(row.window_end_ms),
        reason: String(row.reason),
        events: num(row.events),
      })),
      gaps: (await marts.rows<Row>(GAPS_SQL, values)).map((row) => ({
        pair: String(row.pair),
        fromTradeId: num(row.from_trade_id),
        toTradeId: num(row.to_trade_id),
        missingCount: num(row.missing_count),
        gapAfterAt: msDate(row.gap_after_ms),
        firstSeenAt: msDate(row.first_seen_ms),
        status: row.status === "healed" ? "healed" : "open",
        healedBy: row.healed_by === "rest_backfill" || row.healed_by === "archive" ? row.healed_by : null,
      })),
      archive: await archiveDays(marts, window, params.windowMinutes),
      lakeHours: lakeHours(files, window, params.windowMinutes),
      scorecard: await windowScorecard(marts, window),
      lastLiveAt: await lastLiveMinute(marts, market, picked),
    };
  });
}

/**
 * Files and bytes per hour partition over the hours of `window`, or of the 24 hours before its end when the window
 * is shorter: small-file pressure shows over hours, not minutes.
 */
export function lakeHours(
  files: readonly { bytes: number; hourStartMs: number }[],
  window: Window,
  windowMinutes: number,
): LakeHour[] {
  const endMs = window.end.getTime();
  const startMs = endMs - Math.max(windowMinutes, 24 * 60) * 60_000;
  const byHour = new Map<number, LakeHour>();
  for (const file of files) {
    if (file.hourStartMs + 3_600_000 <= startMs || file.hourStartMs >= endMs) continue;
    const hour = byHour.get(file.hourStartMs) ?? { hourStartAt: new Date(file.hourStartMs), files: 0, bytes: 0 };
    hour.files++;
    hour.bytes += file.bytes;
    byHour.set(file.hourStartMs, hour);
  }
  return [...byHour.values()].sort((a, b) => a.hourStartAt.getTime() - b.hourStartAt.getTime());
}

/**
 * The archive days to show: those from the window's days, or of the 7 days before its end when the window is
 * shorter (the exchange publishes a day's archive the day after, so an hour's window would never hold one). None
 * from a database built before the mart existed.
 */
async function archiveDays(marts: Marts, window: Window, windowMinutes: number): Promise<ArchiveDay[]> {
  if (!(await marts.hasTable("marts", "fct_archive_reconciliation"))) return [];
  const endMs = window.end.getTime();
  const startMs = endMs - Math.max(windowMinutes, 7 * 24 * 60) * 60_000;
  const rows = await marts.rows<Row>(ARCHIVE_SQL, { start_ms: startMs, end_ms: endMs });
  return rows.map((row) => ({
    pair: String(row.pair),
    tradeDate: String(row.trade_date),
    archiveTrades: num(row.archive_trades),
    liveTrades: num(row.live_trades),
    overlappingTrades: num(row.overlapping_trades),
    disagreeingTrades: num(row.disagreeing_trades),
    differingFields: String(row.differing_fields ?? "").split(",").filter((field) => field !== ""),
  }));
}

/** When the live capture of `pair` last delivered a trade: the end of its latest minute with a latency sample. */
async function lastLiveMinute(marts: Marts, market: string, pair: string): Promise<Date | null> {
  const [row] = await marts.rows<{ end_ms: number | null }>(
    `select ${epochMs("max(minute_at) + interval 1 minute")} as end_ms from marts.fct_ingestion_latency_1m
     where market = $market and pair = $pair`,
    { market, pair },
  );
  return row?.end_ms === null || row?.end_ms === undefined ? null : new Date(Number(row.end_ms));
}

/** The latest window of each pair: the status to show first. */
export function latestHealth(health: readonly HealthWindow[]): HealthWindow[] {
  const latest = new Map<string, HealthWindow>();
  for (const window of health) {
    const seen = latest.get(window.pair);
    if (!seen || seen.windowStartAt < window.windowStartAt) latest.set(window.pair, window);
  }
  return [...latest.values()].sort((a, b) => a.pair.localeCompare(b.pair));
}

function healthWindow(row: Row): HealthWindow {
  return {
    pair: String(row.pair),
    windowStartAt: msDate(row.window_start_ms),
    windowEndAt: msDate(row.window_end_ms),
    status: row.status === "stale" ? "stale" : row.status === "warn" ? "warn" : "ok",
    trades5m: num(row.trades_5m),
    secondsSinceLastTrade: num(row.seconds_since_last_trade),
    secondsSinceLastIngest: num(row.seconds_since_last_ingest),
    openGaps: num(row.open_gaps),
    dlqEvents: num(row.dlq_events),
    ingestP99Ms: row.ingest_p99_ms === null ? null : num(row.ingest_p99_ms),
    klineMatchRate: row.kline_match_rate === null ? null : num(row.kline_match_rate),
  };
}

const LATENCY_SQL = `
  select ${epochMs("minute_at")} as minute_ms, sample_count::double as sample_count,
    ingest_p50_ms, ingest_p95_ms, ingest_p99_ms, lake_p50_ms, lake_p95_ms, lake_p99_ms
  from marts.fct_ingestion_latency_1m
  where market = $market and pair = $pair and ${inWindow("minute_at")}
  order by minute_at`;

const HEALTH_SQL = `
  select ${PAIR_LABEL_SQL}, ${epochMs("window_start_at")} as window_start_ms, ${
  epochMs("window_end_at")
} as window_end_ms,
    status, trades_5m::double as trades_5m, seconds_since_last_trade, seconds_since_last_ingest,
    open_gaps::double as open_gaps, dlq_events::double as dlq_events, ingest_p99_ms, kline_match_rate
  from marts.fct_pipeline_health_5m
  where ${inWindow("window_start_at")}
  order by market, pair, window_start_at`;

// Every pair's dead-letter events by reason (most have no pair), per window. A window without events has no row in
// the DLQ mart; when the whole window has none, the health windows give zero rows, so the chart says so.
const DLQ_SQL = `
  with events as (
    select ${epochMs("window_start_at")} as window_start_ms, ${epochMs("window_end_at")} as window_end_ms,
      reason, sum(events)::double as events
    from marts.fct_dlq_events_5m
    where ${inWindow("window_start_at")}
    group by all
  ),
  quiet as (
    select distinct ${epochMs("window_start_at")} as window_start_ms, ${epochMs("window_end_at")} as window_end_ms,
      'all reasons' as reason, 0::double as events
    from marts.fct_pipeline_health_5m
    where ${inWindow("window_start_at")} and not exists (select 1 from events)
  )
  select * from events
  union all
  select * from quiet
  order by window_start_ms, reason`;

// Open gaps always matter, whenever they began; healed ones only within the window.
// Ids a source confirmed it never had (futures' off-book trades) are not gaps: left out.
const GAPS_SQL = `
  select ${PAIR_LABEL_SQL}, from_trade_id::double as from_trade_id, to_trade_id::double as to_trade_id,
    missing_count::double as missing_count, ${epochMs("gap_after_time")} as gap_after_ms,
    ${epochMs("first_seen_at")} as first_seen_ms, status, healed_by
  from marts.fct_trade_gaps
  where status <> 'absent_at_source' and (status = 'open' or ${inWindow("gap_after_time")})
  order by gap_after_time, pair
  limit 1000`;

// Days (UTC) overlapping [$start_ms, $end_ms).
const ARCHIVE_SQL = `
  select ${PAIR_LABEL_SQL}, strftime(trade_date, '%Y-%m-%d') as trade_date, archive_trades::double as archive_trades,
    live_trades::double as live_trades, overlapping_trades::double as overlapping_trades,
    disagreeing_trades::double as disagreeing_trades, array_to_string(differing_fields, ',') as differing_fields
  from marts.fct_archive_reconciliation
  where trade_date >= make_timestamp(($start_ms * 1000)::bigint)::date
    and trade_date < make_timestamp(($end_ms * 1000)::bigint)
  order by trade_date desc, pair
  limit 100`;
