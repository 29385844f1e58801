-- One-minute candles with the exchange's kline semantics, so that a fully ingested minute equals the exchange's own
-- 1m kline: open and close are the first and last trade by trade id (trades of one match share a trade time), and
-- the taker-buy sums take the trades whose buyer was the taker. Only order-book trades count, as in the exchange's
-- klines: all of spot; on USDⓈ-M futures X = MARKET, so an insurance-fund or ADL trade (priced away from the book)
-- moves neither high, low, volume nor the count. A minute of non-market trades only has no candle.
with minutes as (
  -- the minutes an incremental run rebuilds (rebuild_from, as in int_trades_1m); every minute otherwise
  select * from intermediate.int_trades_1m
  where minute_at >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
),

per_minute as (
  select
    market,
    pair,
    minute_at,
    open_price as open,
    high_price as high,
    low_price as low,
    close_price as close,
    market_volume as volume,
    market_quote_volume as quote_volume,
    market_trade_count as trade_count,
    taker_buy_volume,
    taker_buy_quote_volume
  from minutes
  where market_trade_count > 0
),

in_units as (
  -- DuckDB divides DECIMALs in DOUBLE, so vwap divides integer counts of units instead: quote in 10^-16, volume in
  -- 10^-8, which leaves vwap in 10^-8. The quote volume is split at the point because scaling a DECIMAL(38, 16)
  -- up by 10^16 in one go overflows from 10^6 on.
  select
    *,
    trunc(quote_volume)::hugeint * 10000000000000000
      + ((quote_volume - trunc(quote_volume)) * 10000000000000000)::hugeint as quote_volume_units,
    (volume * 100000000)::hugeint as volume_units
  from per_minute
),

with_vwap as (
  select
    *,
    -- integer quotient, plus one when the remainder is at least half the divisor: rounded half up to 8 decimals
    (
      quote_volume_units // volume_units + (quote_volume_units % volume_units * 2 >= volume_units)::int
    )::decimal(38, 0) * 0.00000001 as vwap
  from in_units
),

final as (
  select
    market,
    pair,
    minute_at,
    open,
    high,
    low,
    close,
    volume,
    quote_volume,
    trade_count,
    vwap,
    taker_buy_volume,
    taker_buy_quote_volume
  from with_vwap
)

select * from final
