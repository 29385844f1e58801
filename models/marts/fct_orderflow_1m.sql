-- Taker buy and sell flow per pair and minute, with the delta running over each UTC day. The model refreshes by
-- trade_date: the running sum restarts each day, so a day is rebuilt whole or not at all, from the per-minute sums
-- of int_trades_1m (a day is at most 1,440 rows a pair), never from the trades. Like the candles it counts
-- order-book trades only (futures X = MARKET): an insurance-fund or ADL transfer has no taker crossing the book, so it
-- is not order flow, and buy + sell then splits the candle's volume exactly.
with minutes as (
  -- rebuild_from: set by the builder on an incremental run, so only the changed days are read; unset (every day)
  -- on a full build and in the DuckDB CLI
  select * from intermediate.int_trades_1m
  where trade_date >= coalesce(getvariable('rebuild_from')::date, '-infinity'::date)
),

sides as (
  -- sells are what the taker buys leave of the minute, exactly (DECIMAL)
  select
    market,
    pair,
    minute_at,
    trade_date,
    taker_buy_volume as buy_volume,
    market_volume - taker_buy_volume as sell_volume,
    taker_buy_quote_volume as buy_quote_volume,
    market_quote_volume - taker_buy_quote_volume as sell_quote_volume,
    taker_buy_count as buy_count,
    market_trade_count - taker_buy_count as sell_count
  from minutes
  where market_trade_count > 0
),

with_ratios as (
  select
    *,
    -- DECIMAL / DECIMAL is DOUBLE in DuckDB, which is fine for ratios
    (buy_volume - sell_volume) / nullif(buy_volume + sell_volume, 0) as imbalance,
    buy_volume / nullif(buy_volume + sell_volume, 0) as buy_ratio,
    buy_volume - sell_volume as delta
  from sides
),

final as (
  select
    market,
    pair,
    minute_at,
    trade_date,
    buy_volume,
    sell_volume,
    buy_quote_volume,
    sell_quote_volume,
    buy_count,
    sell_count,
    imbalance,
    buy_ratio,
    delta,
    -- partitioned by trade_date too, so that a filter on trade_date is pushed below the window
    sum(delta) over (
      partition by market, pair, trade_date
      order by minute_at
      rows between unbounded preceding and current row
    ) as cumulative_delta
  from with_ratios
)

select * from final
