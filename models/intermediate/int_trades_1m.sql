-- Everything the minute marts need from the trades, per market, pair and minute of trade time, in one pass: the trades are
-- by far the largest relation, and reading them once instead of once per mart is most of a full refresh's time.
-- fct_trades_1m, fct_candles_1m, fct_orderflow_1m and fct_ingestion_latency_1m shape these few rows.
with trades as (
  -- rebuild_from: set by the builder on an incremental run, so only the changed part is read; unset (all trades)
  -- on a full build and in the DuckDB CLI
  select * from staging.stg_trades
  where trade_time >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
),

with_latencies as (
  select
    *,
    date_trunc('minute', trade_time) as minute_at,
    -- latency only of streamed trades: backfilled ones are fetched long after the fact by design and would read as
    -- an outage, and archive ones were never ingested at all
    case when provenance = 'live' then date_diff('microsecond', trade_time, ingested_at) / 1000 end as ingest_ms,
    case when provenance = 'live' then date_diff('microsecond', ingested_at, lake_written_at) / 1000 end as lake_ms
  from trades
),

per_minute as (
  select
    market,
    pair,
    minute_at,
    trade_date,

    -- every trade, for the trade statistics and the id accounting; exact DECIMALs
    count(*) as trade_count,
    sum(quantity) as volume,
    sum(quote_quantity) as quote_volume,
    sum(price) as price_sum,
    min(price) as min_price,
    max(price) as max_price,
    max(quantity) as max_trade_size,
    count(*) filter (where provenance = 'rest_backfill') as backfilled_count,
    count(*) filter (where provenance = 'archive') as archive_count,
    count(*) filter (where not is_market_trade) as non_market_count,

    -- order-book trades only (all of spot; futures X = MARKET), as the exchange's klines count them: candles and order
    -- flow. Open and close are the first and last trade by trade id (trades of one match share a time).
    count(*) filter (where is_market_trade) as market_trade_count,
    coalesce(sum(quantity) filter (where is_market_trade), 0) as market_volume,
    coalesce(sum(quote_quantity) filter (where is_market_trade), 0) as market_quote_volume,
    arg_min(price, trade_id) filter (where is_market_trade) as open_price,
    max(price) filter (where is_market_trade) as high_price,
    min(price) filter (where is_market_trade) as low_price,
    arg_max(price, trade_id) filter (where is_market_trade) as close_price,

    -- taker buys among the market trades: the buyer was not the resting order; sells are the rest
    count(*) filter (where is_market_trade and not is_buyer_maker) as taker_buy_count,
    coalesce(sum(quantity) filter (where is_market_trade and not is_buyer_maker), 0) as taker_buy_volume,
    coalesce(sum(quote_quantity) filter (where is_market_trade and not is_buyer_maker), 0) as taker_buy_quote_volume,

    -- ids and times, for the gap and health marts
    min(trade_id) as first_trade_id,
    max(trade_id) as last_trade_id,
    -- the first trade's word on the ids before it (the gap rule); in a struct, as arg_min skips a null value
    arg_min({'id': source_prev_trade_id}, trade_id).id as first_trade_source_prev_id,
    arg_max(trade_time, trade_id) as last_trade_at,
    max(ingested_at) as last_ingested_at,

    -- latency of live trades; one call per measure sorts its values once for all three quantiles. live_trade_count is
    -- also trade_count - backfilled_count - archive_count: the gap mart finds the live minutes with it
    count(ingest_ms) as live_trade_count,
    quantile_cont(ingest_ms, [0.5, 0.95, 0.99]) as ingest_quantiles_ms,
    max(ingest_ms) as ingest_max_ms,
    quantile_cont(lake_ms, [0.5, 0.95, 0.99]) as lake_quantiles_ms,
    max(lake_ms) as lake_max_ms
  from with_latencies
  group by market, pair, minute_at, trade_date
)

select * from per_minute
