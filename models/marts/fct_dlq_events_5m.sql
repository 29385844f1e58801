-- Dead-letter events per market, 5-minute window, pair, reason and stage: what the health mart counts per pair and the
-- notebook draws by reason. Events without a symbol are counted under the pair 'unknown'.
with events as (
  select
    market,
    received_at,
    coalesce(symbol, 'unknown') as pair,
    reason,
    stage
  from staging.stg_dlq_events
),

per_window as (
  select
    market,
    time_bucket(interval 5 minute, received_at) as window_start_at,
    pair,
    reason,
    stage,
    count(*)::bigint as events
  from events
  group by all
),

final as (
  select
    market,
    window_start_at,
    window_start_at + interval 5 minute as window_end_at,
    pair,
    reason,
    stage,
    events
  from per_window
)

select * from final
