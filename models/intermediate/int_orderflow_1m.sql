-- Taker buy and sell sums per pair and minute of trade time: the expensive pass over the trades, rebuilt from the
-- changed minutes only. fct_orderflow_1m adds the ratios and the day's running delta on top of these few rows.
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
    trade_date,
    coalesce(sum(quantity) filter (where taker_side = 'buy'), 0) as buy_volume,
    coalesce(sum(quantity) filter (where taker_side = 'sell'), 0) as sell_volume,
    coalesce(sum(quote_quantity) filter (where taker_side = 'buy'), 0) as buy_quote_volume,
    coalesce(sum(quote_quantity) filter (where taker_side = 'sell'), 0) as sell_quote_volume,
    count(*) filter (where taker_side = 'buy') as buy_count,
    count(*) filter (where taker_side = 'sell') as sell_count
  from trades
  group by pair, minute_at, trade_date
)

select * from per_minute
