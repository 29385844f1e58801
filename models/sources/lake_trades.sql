-- Every trade file of the lake as one relation, with the Hive folder values (pair, trade_date, hour), the market of
-- the dataset the file lies in, and the file's path (filename) as columns. union_by_name: v2 files add producer_id,
-- newer files provenance and the futures columns, and the importer's archive files leave the Kafka columns null.
-- partition_hour_at is computed next to the scan so that a filter on it prunes files by their path.
select
  *,
  -- market is not a file column: spot's dataset is the lake's root, USDⓈ-M futures' its _usdm folder (usdm_lake_dir,
  -- set by the builder; in the DuckDB CLI the default layout below the working directory)
  case
    when starts_with(filename, coalesce(getvariable('usdm_lake_dir'), 'data/parquet/_usdm') || '/') then 'usdm'
    else 'spot'
  end as market,
  trade_date + to_hours(hour) as partition_hour_at
from read_parquet(
  -- lake_files: the builder's list of files (or globs) to read, of both markets' datasets; by default the spot lake
  -- below the working directory (read_parquet fails on a glob that matches nothing, and most lakes have no _usdm)
  coalesce(getvariable('lake_files'), ['data/parquet/pair=*/trade_date=*/hour=*/*.parquet']),
  hive_partitioning = true,
  hive_types = {'pair': varchar, 'trade_date': date, 'hour': integer},
  union_by_name = true,
  filename = true
)

-- A lake written only by v1 producers (the producer still writes v1) has no producer_id column at all, one written
-- before provenance was recorded has no provenance column, and one without futures files or REST heals that say
-- what the source lists has no trade_type or source_prev_trade_id: this empty row set adds them as null, so models
-- can always name them. Filters on partition_hour_at and filename still prune through it.
union all by name
select
  null::varchar as producer_id,
  null::varchar as provenance,
  null::varchar as trade_type,
  null::bigint as source_prev_trade_id
where false
