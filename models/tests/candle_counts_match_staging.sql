-- Each candle counts exactly the staged market trades of its minute (every spot trade; futures X = MARKET), and sums
-- exactly their quantities, and no minute of staging with a market trade lacks a candle; per market, as spot and
-- futures trades of one symbol never mix.
with staged_minutes as (
  select
    market,
    pair,
    date_trunc('minute', trade_time) as minute_at,
    count(*) as trade_count,
    sum(quantity) as volume
  from staging.stg_trades
  -- on an incremental run only the rebuilt minutes: the rest passed before and has not changed
  where trade_time >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
    and is_market_trade
  group by market, pair, minute_at
),

candles as (
  select * from marts.fct_candles_1m
  where minute_at >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
)

select
  coalesce(candles.market, staged_minutes.market) as market,
  coalesce(candles.pair, staged_minutes.pair) as pair,
  coalesce(candles.minute_at, staged_minutes.minute_at) as minute_at,
  candles.trade_count as candle_trade_count,
  staged_minutes.trade_count as staged_trade_count,
  candles.volume as candle_volume,
  staged_minutes.volume as staged_volume
from candles
full outer join staged_minutes
  on candles.market = staged_minutes.market
  and candles.pair = staged_minutes.pair
  and candles.minute_at = staged_minutes.minute_at
where candles.trade_count is distinct from staged_minutes.trade_count
  or candles.volume is distinct from staged_minutes.volume
