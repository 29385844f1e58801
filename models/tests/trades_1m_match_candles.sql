-- The two minute marts agree on what they both compute from the same trades.
select
  coalesce(trades_1m.pair, candles.pair) as pair,
  coalesce(trades_1m.minute_at, candles.minute_at) as minute_at
from marts.fct_trades_1m as trades_1m
full outer join marts.fct_candles_1m as candles
  on trades_1m.pair = candles.pair
  and trades_1m.minute_at = candles.minute_at
where trades_1m.trade_count is distinct from candles.trade_count
  or trades_1m.volume is distinct from candles.volume
  or trades_1m.quote_volume is distinct from candles.quote_volume
  or trades_1m.min_price is distinct from candles.low
  or trades_1m.max_price is distinct from candles.high
