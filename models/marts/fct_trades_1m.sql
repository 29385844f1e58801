-- Trade statistics per market, pair and minute of trade time. Money stays DECIMAL; the averages are divided exactly.
-- Every trade counts, non-market futures trades (insurance fund, ADL) too: they hold trade ids, so the id accounting
-- (first and last id against trade_count) needs them; non_market_count says how many there are. The candles and the
-- order flow count market trades only.
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
    trade_count,
    volume,
    quote_volume,
    min_price,
    max_price,
    price_sum,
    max_trade_size,
    backfilled_count,
    archive_count,
    non_market_count,
    -- the gap model compares these with trade_count: a minute holding every id in between has no hole
    first_trade_id,
    last_trade_id,
    -- the gap and health models read times from these instead of the trades
    last_trade_at,
    last_ingested_at
  from minutes
),

in_units as (
  -- DuckDB divides DECIMALs in DOUBLE, so the averages divide integer counts of 10^-8 instead
  select
    *,
    (price_sum * 100000000)::hugeint as price_sum_units,
    (volume * 100000000)::hugeint as volume_units
  from per_minute
),

averaged as (
  select
    *,
    -- integer quotient, plus one when the remainder is at least half the divisor: rounded half up to 8 decimals
    (
      price_sum_units // trade_count + (price_sum_units % trade_count * 2 >= trade_count)::int
    )::decimal(38, 0) * 0.00000001 as avg_price,
    (
      volume_units // trade_count + (volume_units % trade_count * 2 >= trade_count)::int
    )::decimal(38, 0) * 0.00000001 as avg_trade_size
  from in_units
),

final as (
  select
    market,
    pair,
    minute_at,
    trade_count,
    volume,
    quote_volume,
    min_price,
    max_price,
    avg_price,
    avg_trade_size,
    max_trade_size,
    backfilled_count,
    archive_count,
    non_market_count,
    first_trade_id,
    last_trade_id,
    last_trade_at,
    last_ingested_at
  from averaged
)

select * from final
