-- Pipeline health per market, pair and 5-minute window, from the window of the pair's first trade to the one holding
-- now_at.
-- Built from the minute marts rather than the trades, so a full rebuild stays cheap. Past windows are judged as of
-- their end with what the lake holds now, backfilled trades included.
with minutes as (
  select
    market,
    pair,
    minute_at,
    trade_count,
    last_trade_at,
    last_ingested_at
  from marts.fct_trades_1m
),

latency as (
  select
    market,
    pair,
    minute_at,
    ingest_p99_ms
  from marts.fct_ingestion_latency_1m
),

gaps as (
  select
    market,
    pair,
    gap_after_time
  from marts.fct_trade_gaps
  where status = 'open'
),

dlq_events as (
  select
    market,
    pair,
    window_start_at,
    events
  from marts.fct_dlq_events_5m
),

reconciliation as (
  -- kept by deno task reconcile, per market against its own klines endpoint: empty until it runs
  select
    market,
    pair,
    minute_at,
    status
  from marts.fct_kline_reconciliation
),

settings as (
  select
    coalesce(getvariable('now_at')::timestamp, now()::timestamp) as now_at,
    coalesce(getvariable('health_stale_after_seconds')::double, 60) as stale_after_seconds,
    coalesce(getvariable('health_warn_latency_ms')::double, 2000) as warn_latency_ms
),

first_windows as (
  select
    market,
    pair,
    time_bucket(interval 5 minute, min(minute_at)) as first_window_at
  from minutes
  group by market, pair
),

windows as (
  -- every window, with or without trades, so that the 15-minute and 1-hour sums below can count rows
  select
    first_windows.market,
    first_windows.pair,
    unnest(generate_series(
      first_windows.first_window_at,
      time_bucket(interval 5 minute, settings.now_at),
      interval 5 minute
    )) as window_start_at
  from first_windows
  cross join settings
),

trades_per_window as (
  select
    market,
    pair,
    time_bucket(interval 5 minute, minute_at) as window_start_at,
    sum(trade_count)::bigint as trade_count,
    max(last_trade_at) as last_trade_at,
    max(last_ingested_at) as last_ingested_at
  from minutes
  group by market, pair, window_start_at
),

latency_per_window as (
  select
    market,
    pair,
    time_bucket(interval 5 minute, minute_at) as window_start_at,
    max(ingest_p99_ms) as ingest_p99_ms
  from latency
  group by market, pair, window_start_at
),

gaps_per_window as (
  select
    market,
    pair,
    time_bucket(interval 5 minute, gap_after_time) as window_start_at,
    count(*) as gap_count
  from gaps
  group by market, pair, window_start_at
),

dlq_per_window as (
  select
    market,
    pair,
    window_start_at,
    sum(events)::bigint as dlq_events
  from dlq_events
  group by market, pair, window_start_at
),

reconciliation_per_window as (
  select
    market,
    pair,
    time_bucket(interval 5 minute, minute_at) as window_start_at,
    count(*) as klines_checked,
    count(*) filter (where status = 'match') as klines_matched
  from reconciliation
  group by market, pair, window_start_at
),

joined as (
  select
    windows.market,
    windows.pair,
    windows.window_start_at,
    windows.window_start_at + interval 5 minute as window_end_at,
    least(windows.window_start_at + interval 5 minute, settings.now_at) as as_of_at,
    coalesce(trades_per_window.trade_count, 0) as trades_5m,
    trades_per_window.last_trade_at,
    trades_per_window.last_ingested_at,
    latency_per_window.ingest_p99_ms,
    coalesce(gaps_per_window.gap_count, 0) as gap_count,
    coalesce(dlq_per_window.dlq_events, 0)::bigint as dlq_events,
    coalesce(reconciliation_per_window.klines_checked, 0)::bigint as klines_checked,
    reconciliation_per_window.klines_matched
  from windows
  cross join settings
  left join trades_per_window
    on windows.market = trades_per_window.market
    and windows.pair = trades_per_window.pair
    and windows.window_start_at = trades_per_window.window_start_at
  left join latency_per_window
    on windows.market = latency_per_window.market
    and windows.pair = latency_per_window.pair
    and windows.window_start_at = latency_per_window.window_start_at
  left join gaps_per_window
    on windows.market = gaps_per_window.market
    and windows.pair = gaps_per_window.pair
    and windows.window_start_at = gaps_per_window.window_start_at
  left join dlq_per_window
    on windows.market = dlq_per_window.market
    and windows.pair = dlq_per_window.pair
    and windows.window_start_at = dlq_per_window.window_start_at
  left join reconciliation_per_window
    on windows.market = reconciliation_per_window.market
    and windows.pair = reconciliation_per_window.pair
    and windows.window_start_at = reconciliation_per_window.window_start_at
),

running as (
  -- windows are contiguous, so 3 rows are 15 minutes and 12 rows an hour
  select
    *,
    sum(trades_5m) over (by_pair rows between 2 preceding and current row)::bigint as trades_15m,
    sum(trades_5m) over (by_pair rows between 11 preceding and current row)::bigint as trades_1h,
    max(last_trade_at) over (by_pair rows unbounded preceding) as last_trade_until_at,
    max(last_ingested_at) over (by_pair rows unbounded preceding) as last_ingested_until_at,
    -- a gap after a trade before window_end_at counts in this window and every later one while it stays open
    sum(gap_count) over (by_pair rows unbounded preceding)::bigint as open_gaps
  from joined
  window by_pair as (partition by market, pair order by window_start_at)
),

measured as (
  select
    *,
    date_diff('microsecond', last_trade_until_at, as_of_at) / 1e6 as seconds_since_last_trade,
    -- trades of the window may have arrived after its end (in flight, or backfilled later): that reads as 0; null
    -- before the pair's first ingested trade (archive history imported from before the live capture)
    case
      when last_ingested_until_at is not null
        then greatest(date_diff('microsecond', last_ingested_until_at, as_of_at), 0) / 1e6
    end as seconds_since_last_ingest
  from running
),

final as (
  select
    measured.market,
    measured.pair,
    measured.window_start_at,
    measured.window_end_at,
    measured.trades_5m,
    measured.trades_15m,
    measured.trades_1h,
    measured.seconds_since_last_trade,
    measured.seconds_since_last_ingest,
    measured.open_gaps,
    measured.ingest_p99_ms,
    measured.dlq_events,
    measured.klines_checked,
    -- share of the window's checked minutes whose candle equals its market's kline; null when none was checked
    measured.klines_matched / nullif(measured.klines_checked, 0) as kline_match_rate,
    case
      when measured.seconds_since_last_trade > settings.stale_after_seconds then 'stale'
      when measured.ingest_p99_ms > settings.warn_latency_ms or measured.open_gaps > 0 then 'warn'
      else 'ok'
    end as status
  from measured
  cross join settings
)

select * from final
