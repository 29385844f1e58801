-- The day's last cumulative_delta of a market's pair is the sum of that day's deltas: the running sum restarts at
-- 00:00 UTC and skips no minute.
with days as (
  select
    market,
    pair,
    trade_date,
    sum(delta) as day_delta,
    arg_max(cumulative_delta, minute_at) as last_cumulative_delta
  from marts.fct_orderflow_1m
  group by market, pair, trade_date
)

select *
from days
where day_delta <> last_cumulative_delta
