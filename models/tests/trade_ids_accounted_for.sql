-- Every trade id from a market's pair's first to its last is either a staged trade (market or not) or inside exactly
-- one open or absent-at-source range: the gaps neither miss a hole nor overlap a trade.
with seen as (
  select
    market,
    pair,
    min(first_trade_id) as first_trade_id,
    max(last_trade_id) as last_trade_id,
    sum(trade_count) as trade_count
  from marts.fct_trades_1m
  group by market, pair
),

missing as (
  select
    market,
    pair,
    sum(missing_count) as missing_count
  from marts.fct_trade_gaps
  -- healed ranges hold staged trades: only the open and the absent ones are missing
  where status in ('open', 'absent_at_source')
  group by market, pair
)

select
  seen.*,
  coalesce(missing.missing_count, 0) as missing_count
from seen
left join missing
  on seen.market = missing.market
  and seen.pair = missing.pair
where seen.last_trade_id - seen.first_trade_id + 1 <> seen.trade_count + coalesce(missing.missing_count, 0)
