-- How long live trades took to reach the producer and then the lake, per pair and minute of trade time.
-- Backfilled trades are left out: they are fetched long after the fact by design, and would read as an outage.
with trades as (
  -- rebuild_from: set by the builder on an incremental run, so only the changed part is read; unset (all trades)
  -- on a full build and in the DuckDB CLI
  select * from staging.stg_trades
  where trade_time >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
),

live_trades as (
  select
    pair,
    date_trunc('minute', trade_time) as minute_at,
    date_diff('microsecond', trade_time, ingested_at) / 1000 as ingest_ms,
    date_diff('microsecond', ingested_at, lake_written_at) / 1000 as lake_ms
  from trades
  where not is_backfilled
),

per_minute as (
  select
    pair,
    minute_at,
    count(*) as sample_count,
    -- one call per measure sorts its values once for all three quantiles
    quantile_cont(ingest_ms, [0.5, 0.95, 0.99]) as ingest_quantiles,
    max(ingest_ms) as ingest_max_ms,
    quantile_cont(lake_ms, [0.5, 0.95, 0.99]) as lake_quantiles,
    max(lake_ms) as lake_max_ms
  from live_trades
  group by pair, minute_at
),

final as (
  select
    pair,
    minute_at,
    sample_count,
    ingest_quantiles[1] as ingest_p50_ms,
    ingest_quantiles[2] as ingest_p95_ms,
    ingest_quantiles[3] as ingest_p99_ms,
    ingest_max_ms,
    lake_quantiles[1] as lake_p50_ms,
    lake_quantiles[2] as lake_p95_ms,
    lake_quantiles[3] as lake_p99_ms,
    lake_max_ms
  from per_minute
)

select * from final
