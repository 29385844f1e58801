-- The two minute marts agree on what they both compute from the same trades. Where a minute holds non-market futures
-- trades (fct_trades_1m counts them, the candle does not), the candle counts exactly the others and its range lies
-- within the minute's; spot has none.
select
  coalesce(trades_1m.market, candles.market) as market,
  coalesce(trades_1m.pair, candles.pair) as pair,
  coalesce(trades_1m.minute_at, candles.minute_at) as minute_at,
  trades_1m.non_market_count
from marts.fct_trades_1m as trades_1m
full outer join marts.fct_candles_1m as candles
  on trades_1m.market = candles.market
  and trades_1m.pair = candles.pair
  and trades_1m.minute_at = candles.minute_at
where (trades_1m.market = 'spot' and trades_1m.non_market_count <> 0)
  or (
    coalesce(trades_1m.non_market_count, 0) = 0
    and (
      trades_1m.trade_count is distinct from candles.trade_count
      or trades_1m.volume is distinct from candles.volume
      or trades_1m.quote_volume is distinct from candles.quote_volume
      or trades_1m.min_price is distinct from candles.low
      or trades_1m.max_price is distinct from candles.high
    )
  )
  or (
    trades_1m.non_market_count > 0
    and (
      trades_1m.trade_count - trades_1m.non_market_count is distinct from coalesce(candles.trade_count, 0)
      or candles.low < trades_1m.min_price
      or candles.high > trades_1m.max_price
      or candles.volume >= trades_1m.volume
    )
  )
