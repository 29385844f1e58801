-- Every staged trade was read from the lake hour of its own trade time; otherwise pruning by partition_hour_at, and
-- the incremental refresh built on it, would miss it.
select
  market,
  pair,
  trade_id,
  trade_time,
  partition_hour_at
from staging.stg_trades
-- on an incremental run only the rebuilt hours: the rest passed before and has not changed
where partition_hour_at >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
  and (
    date_trunc('hour', trade_time) <> partition_hour_at
    or trade_date <> trade_time::date
  )
