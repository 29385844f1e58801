-- Every trade file of the lake as one relation, with the Hive folder values (pair, trade_date, hour) and the file's
-- path (filename) as columns. union_by_name: v2 files add producer_id, newer files provenance, and the importer's
-- archive files leave the Kafka columns null. partition_hour_at is computed next to the scan so that a filter on it
-- prunes files by their path.
select
  *,
  trade_date + to_hours(hour) as partition_hour_at
from read_parquet(
  -- lake_files: the builder's list of files (or globs) to read; by default the whole lake below the working directory
  coalesce(getvariable('lake_files'), ['data/parquet/pair=*/trade_date=*/hour=*/*.parquet']),
  hive_partitioning = true,
  hive_types = {'pair': varchar, 'trade_date': date, 'hour': integer},
  union_by_name = true,
  filename = true
)

-- A lake written only by v1 producers (the producer still writes v1) has no producer_id column at all, and one
-- written before provenance was recorded has no provenance column: this empty row set adds them as null, so models
-- can always name them. Filters on partition_hour_at and filename still prune through it.
union all by name
select
  null::varchar as producer_id,
  null::varchar as provenance
where false
