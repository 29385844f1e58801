-- Every trade id from a pair's first to its last is either a staged trade or inside exactly one gap: the gaps
-- neither miss a hole nor overlap a trade.
with seen as (
  select
    pair,
    min(first_trade_id) as first_trade_id,
    max(last_trade_id) as last_trade_id,
    sum(trade_count) as trade_count
  from marts.fct_trades_1m
  group by pair
),

missing as (
  select
    pair,
    sum(missing_count) as missing_count
  from marts.fct_trade_gaps
  -- healed ranges hold staged trades: only the open ones are missing
  where status = 'open'
  group by pair
)

select
  seen.*,
  coalesce(missing.missing_count, 0) as missing_count
from seen
left join missing
  on seen.pair = missing.pair
where seen.last_trade_id - seen.first_trade_id + 1 <> seen.trade_count + coalesce(missing.missing_count, 0)
