-- One row per dead-letter event, typed and renamed. Each DLQ record is in the lake once, but the consumer sends a bad
-- trade record to the DLQ before committing it, so after a crash the same source record can be in the DLQ twice:
-- the copy received first is kept.
with lake_dlq_events as (
  select * from sources.lake_dlq_events
),

by_record as (
  -- one row per DLQ record, should a file ever be copied into the lake twice
  select *
  from lake_dlq_events
  qualify row_number() over (
    partition by market, kafka_partition, kafka_offset
    order by received_at
  ) = 1
),

deduplicated as (
  -- one row per refused trade record (consumer stage); producer-stage events have no source and are all kept
  select *
  from by_record
  qualify source_offset is null
    or row_number() over (
      partition by market, source_partition, source_offset
      order by received_at, kafka_partition, kafka_offset
    ) = 1
),

renamed as (
  select
    -- each market has its own topics, so positions are per market
    market::varchar as market,

    -- what and why
    reason::varchar as reason,
    detail::varchar as detail,
    stage::varchar as stage,
    symbol::varchar as symbol,

    -- the refused input
    raw::varchar as raw,
    raw_length::bigint as raw_length,
    raw_truncated::boolean as is_raw_truncated,

    -- timestamps, UTC
    received_at::timestamp as received_at,

    -- lineage
    source_partition::integer as source_partition,
    source_offset::bigint as source_offset,
    schema_version::integer as schema_version,
    kafka_partition::integer as kafka_partition,
    kafka_offset::bigint as kafka_offset
  from deduplicated
)

select * from renamed
