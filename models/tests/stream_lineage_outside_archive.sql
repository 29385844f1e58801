-- Only archive trades lack the stream's lineage: every live or REST-backfilled trade has its producer receive time,
-- envelope version and Kafka position.
select
  market,
  pair,
  trade_id,
  provenance,
  ingested_at,
  schema_version,
  kafka_partition,
  kafka_offset
from staging.stg_trades
-- on an incremental run only the rebuilt hours: the rest passed before and has not changed
where partition_hour_at >= coalesce(getvariable('rebuild_from')::timestamp, '-infinity'::timestamp)
  and provenance <> 'archive'
  and (ingested_at is null or schema_version is null or kafka_partition is null or kafka_offset is null)
