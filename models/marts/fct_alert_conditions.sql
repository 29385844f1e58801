-- The alert conditions that hold right now, per market and pair: the latest health window measured against the thresholds.
-- The builder turns these into marts.alerts after every refresh, opening an alert when a condition first holds and
-- resolving it when it no longer does.
with latest as (
  select *
  from marts.fct_pipeline_health_5m
  qualify row_number() over (partition by market, pair order by window_start_at desc) = 1
),

settings as (
  select
    coalesce(getvariable('now_at')::timestamp, now()::timestamp) as now_at,
    coalesce(getvariable('health_stale_after_seconds')::double, 60) as stale_after_seconds,
    coalesce(getvariable('health_warn_latency_ms')::double, 2000) as warn_latency_ms,
    coalesce(getvariable('alert_dlq_per_5m')::double, 10) as dlq_per_5m
),

conditions as (
  select market, pair, 'stale' as kind, seconds_since_last_trade as value, stale_after_seconds as threshold,
    'no trade for ' || round(seconds_since_last_trade)::bigint || ' s' as message
  from latest cross join settings
  where seconds_since_last_trade > stale_after_seconds

  union all
  select market, pair, 'latency_p99', ingest_p99_ms, warn_latency_ms,
    'p99 trade → ingest latency ' || round(ingest_p99_ms)::bigint || ' ms'
  from latest cross join settings
  where ingest_p99_ms > warn_latency_ms

  union all
  select market, pair, 'open_gaps', open_gaps::double, 0,
    open_gaps || ' trade-id gaps not healed'
  from latest cross join settings
  where open_gaps > 0

  union all
  select market, pair, 'dlq_rate', dlq_events::double, dlq_per_5m,
    dlq_events || ' dead-letter events in 5 minutes'
  from latest cross join settings
  where dlq_events > dlq_per_5m
)

select
  conditions.market,
  conditions.pair,
  conditions.kind,
  conditions.value,
  conditions.threshold,
  conditions.message,
  settings.now_at as measured_at
from conditions
cross join settings
