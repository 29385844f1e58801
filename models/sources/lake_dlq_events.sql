-- Every dead-letter record the consumer wrote to the lake's _dlq folder as one relation, with the Hive folder value
-- (received_date) and the market as columns. The _ prefix keeps these files out of the trades' pair=* glob.
select
  *,
  -- the market of the dataset the file lies in, as in lake_trades: spot's _dlq at the lake's root, usdm's in _usdm
  case
    when starts_with(filename, coalesce(getvariable('usdm_lake_dir'), 'data/parquet/_usdm') || '/') then 'usdm'
    else 'spot'
  end as market
from read_parquet(
  -- dlq_files: the builder's list; when the lake has no DLQ file it points at an empty file with the same columns,
  -- as read_parquet fails on a glob that matches nothing. By default every spot DLQ file below the working directory.
  coalesce(getvariable('dlq_files'), ['data/parquet/_dlq/received_date=*/*.parquet']),
  hive_partitioning = true,
  hive_types = {'received_date': date},
  union_by_name = true,
  filename = true
)
