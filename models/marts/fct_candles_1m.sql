-- One-minute candles with the exchange's kline semantics, so that a fully ingested minute equals the exchange's own
-- 1m kline: open and close are the first and last trade by trade id (trades of one match share a trade time), and
-- the taker-buy sums take the trades whose buyer was the taker.
with trades as (
  -- rebuild_from: set by the builder on an incremental run, so only the changed part is read; unset (all trades)
  -- on a full build and in the DuckDB CLI
  select * from staging.stg_trades
  where trade_time >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
),

per_minute as (
  select
    pair,
    date_trunc('minute', trade_time) as minute_at,
    arg_min(price, trade_id) as open,
    max(price) as high,
    min(price) as low,
    arg_max(price, trade_id) as close,
    sum(quantity) as volume,
    sum(quote_quantity) as quote_volume,
    count(*) as trade_count,
    coalesce(sum(quantity) filter (where not is_buyer_maker), 0) as taker_buy_volume,
    coalesce(sum(quote_quantity) filter (where not is_buyer_maker), 0) as taker_buy_quote_volume
  from trades
  group by pair, minute_at
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
