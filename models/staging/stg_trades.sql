-- One row per trade, typed and renamed. The lake may hold a trade twice (a producer retry, a backfill overlapping
-- the live stream, an archive import of a day also captured live): the live copy is kept, then a REST backfill's,
-- then the archive's; among copies of one source, the one received first. A trade is one (market, pair, trade_id):
-- spot and futures ids of one symbol are unrelated.
with lake_trades as not materialized (
  -- rebuild_from: set by the builder on an incremental run, so only the changed lake hours are read (pruned by
  -- folder name); unset (the whole lake) on a full build and in the DuckDB CLI. Files written before provenance
  -- existed hold only live and REST-backfilled trades, told apart by is_backfilled.
  select
    * replace (coalesce(provenance, case when is_backfilled then 'rest_backfill' else 'live' end) as provenance)
  from sources.lake_trades
  where partition_hour_at >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
),

single_copies as (
  -- single_copy_files: set by the builder to the files that hold each of their trades once and share no trade id
  -- with another file (tasks/lib/warehouse/single_copy.ts), so their trades skip deduplication; DuckDB prunes by
  -- the file name before reading. Unset (in the DuckDB CLI): none, so every trade is deduplicated.
  select * from lake_trades
  where list_contains(coalesce(getvariable('single_copy_files'), []::varchar[]), filename)
),

maybe_copies as (
  -- Both copies of a trade sit in the same hour partition (it derives from the trade's own time), so the hour is
  -- part of the key: a filter on partition_hour_at then passes the window and still prunes files. DISTINCT ON ...
  -- ORDER BY was slower on 1M rows and stopped that filter above the scan. Spot and futures ids are unrelated, so
  -- the market is part of the key too.
  select
    * replace (
      -- any copy's word that the ids before it do not exist at the source holds for the trade, whichever is kept
      min(source_prev_trade_id) over by_trade as source_prev_trade_id
    )
  from lake_trades
  where not list_contains(coalesce(getvariable('single_copy_files'), []::varchar[]), filename)
  window by_trade as (partition by market, pair, partition_hour_at, trade_id)
  -- Archive copies have no ingested_at or Kafka position, so the source decides first and the nulls never do; the
  -- file name last makes the choice the same on every run.
  qualify row_number() over (
    by_trade
    order by
      case provenance when 'live' then 0 when 'rest_backfill' then 1 else 2 end,
      ingested_at nulls last,
      kafka_partition nulls last,
      kafka_offset nulls last,
      filename
  ) = 1
),

deduplicated as (
  select * from single_copies
  union all
  select * from maybe_copies
),

renamed as (
  select
    -- ids
    market::varchar as market,
    pair::varchar as pair,
    trade_id::bigint as trade_id,

    -- amounts, exact: DECIMAL(20, 8) × DECIMAL(20, 8) is DECIMAL(38, 16), no rounding
    price::decimal(20, 8) as price,
    quantity::decimal(20, 8) as quantity,
    price::decimal(20, 8) * quantity::decimal(20, 8) as quote_quantity,

    -- timestamps, UTC
    trade_time::timestamp as trade_time,
    event_time::timestamp as event_time,
    ingested_at::timestamp as ingested_at,
    lake_written_at::timestamp as lake_written_at,
    time_unit::varchar as time_unit,

    -- sides and flags
    is_buyer_maker::boolean as is_buyer_maker,
    -- the buyer was the resting order, so the taker, who crossed the spread, sold
    case when is_buyer_maker then 'sell' else 'buy' end as taker_side,
    is_best_match::boolean as is_best_match,
    is_backfilled::boolean as is_backfilled,
    trade_type::varchar as trade_type,
    -- an order-book trade: every spot trade; on futures only X = MARKET (insurance-fund and ADL transfers have a
    -- price of their own, and the exchange's klines leave them out). A futures row without X came from a source that
    -- lists market trades only (the archive).
    (market = 'spot' or coalesce(trade_type, 'MARKET') = 'MARKET') as is_market_trade,
    source_prev_trade_id::bigint as source_prev_trade_id,

    -- lineage
    provenance::varchar as provenance,
    schema_version::integer as schema_version,
    producer_id::varchar as producer_id,
    kafka_partition::integer as kafka_partition,
    kafka_offset::bigint as kafka_offset,
    trade_date::date as trade_date,
    partition_hour_at::timestamp as partition_hour_at
  from deduplicated
)

select * from renamed
