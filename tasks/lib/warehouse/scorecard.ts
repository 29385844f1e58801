/**
 * The pipeline's scorecard: per market and pair, the trades, the price, the kline check, the trade-id gaps and the
 * dead-letter events over a window (or over everything). The report's headline, its status table and the demo's
 * closing summary all read it, from the same marts with the same SQL, so they cannot disagree.
 *
 * Pure: SQL text and the mapping of its rows; the caller runs the queries on its own connection.
 */

/** Runs `sql` with named `$parameters` and returns its rows as plain objects. */
export type RunQuery = (sql: string, values: Record<string, number | string | null>) => Promise<ScoreRow[]>;

/** A row as the scorecard's queries return it: numbers, strings and nulls. */
export type ScoreRow = Record<string, number | string | null>;

/** [start, end) in ms since the epoch; null for everything the marts hold. */
export type ScoreWindow = { startMs: number; endMs: number } | null;

/** One market and pair over the window. */
export interface PairScore {
  market: string;
  pair: string;
  trades: number;
  /** The first minute's open and the last minute's close (null without a candle). */
  open: number | null;
  close: number | null;
  /** The close as the marts keep it, exactly (for display). */
  closeText: string | null;
  lastMinuteAt: Date | null;
  /** Minutes checked against the exchange's klines (deno task reconcile), and those that matched. */
  klinesChecked: number;
  klinesMatched: number;
  /** Trade-id gaps that began in the window: found (open or healed), healed, open; ids the heals brought back. */
  gapsFound: number;
  gapsHealed: number;
  gapsOpen: number;
  idsHealed: number;
  /** Dead-letter events that carried this pair. */
  dlqEvents: number;
  /** The latest health verdict in the window (ok, warn, stale), null when no health window falls in it. */
  status: string | null;
}

/** The whole scorecard. */
export interface Scorecard {
  pairs: PairScore[];
  /** Every dead-letter event of the window by reason, with or without a pair. */
  dlqByReason: Record<string, number>;
  /** Dead-letter events without a pair (malformed JSON, for example): in no pair's row. */
  dlqWithoutPair: number;
}

/** `column` within `$start_ms`/`$end_ms`, or anywhere when they are null. */
function within(column: string): string {
  return `($start_ms is null or (${column} >= make_timestamp(($start_ms * 1000)::bigint) and ` +
    `${column} < make_timestamp(($end_ms * 1000)::bigint)))`;
}

/** One row per market and pair that traded in the window. */
export const PAIR_SCORES_SQL = `
  with trades as (
    select market, pair, sum(trade_count)::double as trades, max(minute_at) as last_minute_at
    from marts.fct_trades_1m where ${within("minute_at")} group by all
  ),
  prices as (
    select market, pair, arg_min(open, minute_at)::double as open, arg_max(close, minute_at)::double as close,
      arg_max(close, minute_at)::varchar as close_text
    from marts.fct_candles_1m where ${within("minute_at")} group by all
  ),
  klines as (
    select market, pair, count(*)::double as checked, count(*) filter (where status = 'match')::double as matched
    from marts.fct_kline_reconciliation where ${within("minute_at")} group by all
  ),
  gaps as (
    select market, pair, count(*)::double as found, count(*) filter (where status = 'healed')::double as healed,
      count(*) filter (where status = 'open')::double as open,
      coalesce(sum(missing_count) filter (where status = 'healed'), 0)::double as ids_healed
    from marts.fct_trade_gaps
    where status <> 'absent_at_source' and ${within("gap_after_time")} group by all
  ),
  dlq as (
    select market, pair, sum(events)::double as events
    from marts.fct_dlq_events_5m where pair <> 'unknown' and ${within("window_start_at")} group by all
  ),
  health as (
    select market, pair, arg_max(status, window_start_at) as status
    from marts.fct_pipeline_health_5m where ${within("window_start_at")} group by all
  )
  select trades.market, trades.pair, trades.trades, epoch_ms(trades.last_minute_at)::double as last_minute_ms,
    prices.open, prices.close, prices.close_text, coalesce(klines.checked, 0) as klines_checked,
    coalesce(klines.matched, 0) as klines_matched, coalesce(gaps.found, 0) as gaps_found,
    coalesce(gaps.healed, 0) as gaps_healed, coalesce(gaps.open, 0) as gaps_open,
    coalesce(gaps.ids_healed, 0) as ids_healed, coalesce(dlq.events, 0) as dlq_events, health.status
  from trades
  left join prices using (market, pair)
  left join klines using (market, pair)
  left join gaps using (market, pair)
  left join dlq using (market, pair)
  left join health using (market, pair)
  order by trades.market = 'spot' desc, trades.market, trades.trades desc, trades.pair`;

/** Every dead-letter event of the window by reason, and whether it carried a pair. */
export const DLQ_REASONS_SQL = `
  select reason, pair <> 'unknown' as has_pair, sum(events)::double as events
  from marts.fct_dlq_events_5m where ${within("window_start_at")}
  group by all order by reason`;

/** Reads the scorecard over `window` with `run`. */
export async function readScorecard(run: RunQuery, window: ScoreWindow): Promise<Scorecard> {
  const values = { start_ms: window?.startMs ?? null, end_ms: window?.endMs ?? null };
  const pairs = (await run(PAIR_SCORES_SQL, values)).map(pairScore);
  const dlqByReason: Record<string, number> = {};
  let dlqWithoutPair = 0;
  for (const row of await run(DLQ_REASONS_SQL, values)) {
    const reason = String(row.reason);
    dlqByReason[reason] = (dlqByReason[reason] ?? 0) + Number(row.events);
    if (!isTrue(row.has_pair)) dlqWithoutPair += Number(row.events);
  }
  return { pairs, dlqByReason, dlqWithoutPair };
}

function pairScore(row: ScoreRow): PairScore {
  const maybe = (value: number | string | null | undefined) =>
    value === null || value === undefined ? null : Number(value);
  return {
    market: String(row.market),
    pair: String(row.pair),
    trades: Number(row.trades),
    open: maybe(row.open),
    close: maybe(row.close),
    closeText: row.close_text === null || row.close_text === undefined ? null : String(row.close_text),
    lastMinuteAt: row.last_minute_ms === null || row.last_minute_ms === undefined
      ? null
      : new Date(Number(row.last_minute_ms)),
    klinesChecked: Number(row.klines_checked),
    klinesMatched: Number(row.klines_matched),
    gapsFound: Number(row.gaps_found),
    gapsHealed: Number(row.gaps_healed),
    gapsOpen: Number(row.gaps_open),
    idsHealed: Number(row.ids_healed),
    dlqEvents: Number(row.dlq_events),
    status: row.status === null || row.status === undefined ? null : String(row.status),
  };
}

// DuckDB's booleans come back as true/false from the node API, and as "true"/"false" from JSON row readers.
function isTrue(value: unknown): boolean {
  return value === true || value === "true" || value === 1;
}

/** The totals of a scorecard's pairs: what a one-line summary says. */
export function scorecardTotals(card: Scorecard): {
  klinesChecked: number;
  klinesMatched: number;
  gapsFound: number;
  gapsHealed: number;
  gapsOpen: number;
  idsHealed: number;
  dlqEvents: number;
} {
  const sum = (pick: (pair: PairScore) => number) => card.pairs.reduce((total, pair) => total + pick(pair), 0);
  return {
    klinesChecked: sum((p) => p.klinesChecked),
    klinesMatched: sum((p) => p.klinesMatched),
    gapsFound: sum((p) => p.gapsFound),
    gapsHealed: sum((p) => p.gapsHealed),
    gapsOpen: sum((p) => p.gapsOpen),
    idsHealed: sum((p) => p.idsHealed),
    dlqEvents: Object.values(card.dlqByReason).reduce((total, n) => total + n, 0),
  };
}

/** The scorecard as `deno task status` prints it: one line per pair, then the dead letters. */
export function formatScorecard(card: Scorecard, window: { start: Date; end: Date }): string {
  const at = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ");
  const lines = [`marts, ${at(window.start)} to ${at(window.end)} UTC (the report's window):`];
  for (const p of card.pairs) {
    const klines = p.klinesChecked === 0 ? "klines not checked yet" : `klines ${p.klinesMatched} of ${p.klinesChecked}`;
    lines.push(
      `  ${`${p.pair}${p.market === "spot" ? "" : ` (${p.market})`}`.padEnd(16)} ${p.trades} trades, ${klines}, ` +
        `gaps ${p.gapsFound} found / ${p.gapsHealed} healed / ${p.gapsOpen} open, ${p.dlqEvents} DLQ, ` +
        `status ${p.status ?? "-"}`,
    );
  }
  const total = Object.values(card.dlqByReason).reduce((sum, n) => sum + n, 0);
  lines.push(`  dead letters: ${total} (${card.dlqWithoutPair} without a pair)`);
  return lines.join("\n");
}
