-- How long live trades took to reach the producer and then the lake, per market, pair and minute of trade time.
-- Non-market futures trades come through the same pipeline, so they count here like any live trade.
-- Backfilled trades are left out: they are fetched long after the fact by design, and would read as an outage; so are
-- archive trades, which were imported and never ingested.
with minutes as (
  -- the minutes an incremental run rebuilds (rebuild_from, as in int_trades_1m); every minute otherwise
  select * from intermediate.int_trades_1m
  where minute_at >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
),

per_minute as (
  -- a minute of backfilled or archive trades only has no latency sample, and no row
  select
    market,
    pair,
    minute_at,
    live_trade_count as sample_count,
    ingest_quantiles_ms as ingest_quantiles,
    ingest_max_ms,
    lake_quantiles_ms as lake_quantiles,
    lake_max_ms
  from minutes
  where live_trade_count > 0
),

final as (
  select
    market,
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
