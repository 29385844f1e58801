-- Where the lake holds a trade both from the exchange's archive (deno task import) and from the live capture (the
-- stream or a REST backfill), do the two copies agree? Per market, pair and UTC day with archive trades. Reads the lake
-- itself, both copies: staging keeps only one.
with archive_copies as (
  -- the importer's files are named archive-<SYMBOL>-<day>-<HH>.parquet, and a filter on filename prunes files
  -- before they are opened: a lake without archive files reads nothing here. rebuild_from: set by the builder on an
  -- incremental run (from the start of a day, as trade_date is this model's incremental column), so only the
  -- changed days are read; unset (every day) on a full build and in the DuckDB CLI
  select
    market,
    pair,
    trade_date,
    trade_id,
    price,
    quantity,
    trade_time,
    time_unit,
    is_buyer_maker,
    is_best_match
  from sources.lake_trades
  where filename like '%/archive-%'
    and trade_date >= coalesce(getvariable('rebuild_from')::date, '-infinity'::date)
),

stream_copies as (
  select
    market,
    pair,
    trade_date,
    trade_id,
    price,
    quantity,
    trade_time,
    time_unit,
    is_buyer_maker,
    is_best_match,
    -- files older than the provenance column hold only live and REST-backfilled trades (as in stg_trades)
    coalesce(provenance, case when is_backfilled then 'rest_backfill' else 'live' end) as provenance,
    ingested_at,
    kafka_partition,
    kafka_offset,
    filename
  from sources.lake_trades
  where filename not like '%/archive-%'
    and trade_date >= coalesce(getvariable('rebuild_from')::date, '-infinity'::date)
),

archive_days as (
  select
    market,
    pair,
    trade_date,
    count(*) as archive_trades
  from archive_copies
  group by market, pair, trade_date
),

stream_copies_of_archive_days as (
  -- the stream's copies of the days the archive holds only: when it holds none, the join stops the scan of the
  -- stream's files after their first rows, so a lake without archive files costs next to nothing here
  select stream_copies.*
  from stream_copies
  inner join archive_days
    on stream_copies.market = archive_days.market
    and stream_copies.pair = archive_days.pair
    and stream_copies.trade_date = archive_days.trade_date
),

stream_trades as (
  -- one copy per trade, the one stg_trades keeps: live before rest_backfill, then the first received
  select *
  from stream_copies_of_archive_days
  qualify row_number() over (
    partition by market, pair, trade_date, trade_id
    order by
      case provenance when 'live' then 0 else 1 end,
      ingested_at nulls last,
      kafka_partition nulls last,
      kafka_offset nulls last,
      filename
  ) = 1
),

compared as (
  select
    archive_copies.market,
    archive_copies.pair,
    archive_copies.trade_date,
    archive_copies.trade_id,
    archive_copies.price is distinct from stream_trades.price as price_differs,
    archive_copies.quantity is distinct from stream_trades.quantity as quantity_differs,
    -- the live stream sends ms while spot archives hold µs from 2025-01-01: a copy in ms is compared to the ms
    case
      when archive_copies.time_unit = 'ms' or stream_trades.time_unit = 'ms'
        then date_trunc('millisecond', archive_copies.trade_time)
          is distinct from date_trunc('millisecond', stream_trades.trade_time)
      else archive_copies.trade_time is distinct from stream_trades.trade_time
    end as trade_time_differs,
    archive_copies.is_buyer_maker is distinct from stream_trades.is_buyer_maker as is_buyer_maker_differs,
    -- futures archives and some events lack the flag: compared only when both copies have it
    coalesce(archive_copies.is_best_match <> stream_trades.is_best_match, false) as is_best_match_differs
  from archive_copies
  inner join stream_trades
    on archive_copies.market = stream_trades.market
    and archive_copies.pair = stream_trades.pair
    and archive_copies.trade_date = stream_trades.trade_date
    and archive_copies.trade_id = stream_trades.trade_id
),

overlaps_per_day as (
  select
    market,
    pair,
    trade_date,
    count(*) as overlapping_trades,
    count(*) filter (
      where price_differs or quantity_differs or trade_time_differs or is_buyer_maker_differs or is_best_match_differs
    ) as disagreeing_trades,
    count(*) filter (where price_differs) as price_mismatches,
    count(*) filter (where quantity_differs) as quantity_mismatches,
    count(*) filter (where trade_time_differs) as trade_time_mismatches,
    count(*) filter (where is_buyer_maker_differs) as is_buyer_maker_mismatches,
    count(*) filter (where is_best_match_differs) as is_best_match_mismatches
  from compared
  group by market, pair, trade_date
),

stream_per_day as (
  select
    market,
    pair,
    trade_date,
    count(*) as live_trades
  from stream_trades
  group by market, pair, trade_date
),

joined as (
  select
    archive_days.market,
    archive_days.pair,
    archive_days.trade_date,
    archive_days.archive_trades,
    coalesce(stream_per_day.live_trades, 0) as live_trades,
    coalesce(overlaps_per_day.overlapping_trades, 0) as overlapping_trades,
    coalesce(overlaps_per_day.disagreeing_trades, 0) as disagreeing_trades,
    coalesce(overlaps_per_day.price_mismatches, 0) as price_mismatches,
    coalesce(overlaps_per_day.quantity_mismatches, 0) as quantity_mismatches,
    coalesce(overlaps_per_day.trade_time_mismatches, 0) as trade_time_mismatches,
    coalesce(overlaps_per_day.is_buyer_maker_mismatches, 0) as is_buyer_maker_mismatches,
    coalesce(overlaps_per_day.is_best_match_mismatches, 0) as is_best_match_mismatches
  from archive_days
  left join stream_per_day
    on archive_days.market = stream_per_day.market
    and archive_days.pair = stream_per_day.pair
    and archive_days.trade_date = stream_per_day.trade_date
  left join overlaps_per_day
    on archive_days.market = overlaps_per_day.market
    and archive_days.pair = overlaps_per_day.pair
    and archive_days.trade_date = overlaps_per_day.trade_date
),

final as (
  select
    market::varchar as market,
    pair::varchar as pair,
    trade_date::date as trade_date,
    archive_trades,
    live_trades,
    overlapping_trades,
    disagreeing_trades,
    price_mismatches,
    quantity_mismatches,
    trade_time_mismatches,
    is_buyer_maker_mismatches,
    is_best_match_mismatches,
    -- in alphabetical order; empty when the copies agree
    list_filter([
      case when is_best_match_mismatches > 0 then 'is_best_match' end,
      case when is_buyer_maker_mismatches > 0 then 'is_buyer_maker' end,
      case when price_mismatches > 0 then 'price' end,
      case when quantity_mismatches > 0 then 'quantity' end,
      case when trade_time_mismatches > 0 then 'trade_time' end
    ], field -> field is not null)::varchar[] as differing_fields
  from joined
)

select * from final
