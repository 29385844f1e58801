-- Order flow splits each candle's volume exactly: buy + sell = volume, buy = taker_buy_volume, and likewise for the
-- quote volume and the trade count. Both count market trades only, so this holds on futures too.
select
  coalesce(orderflow.market, candles.market) as market,
  coalesce(orderflow.pair, candles.pair) as pair,
  coalesce(orderflow.minute_at, candles.minute_at) as minute_at,
  orderflow.buy_volume,
  orderflow.sell_volume,
  candles.volume,
  candles.taker_buy_volume
from marts.fct_orderflow_1m as orderflow
full outer join marts.fct_candles_1m as candles
  on orderflow.market = candles.market
  and orderflow.pair = candles.pair
  and orderflow.minute_at = candles.minute_at
where orderflow.buy_volume + orderflow.sell_volume is distinct from candles.volume
  or orderflow.buy_volume is distinct from candles.taker_buy_volume
  or orderflow.buy_quote_volume + orderflow.sell_quote_volume is distinct from candles.quote_volume
  or orderflow.buy_quote_volume is distinct from candles.taker_buy_quote_volume
  or orderflow.buy_count + orderflow.sell_count is distinct from candles.trade_count
