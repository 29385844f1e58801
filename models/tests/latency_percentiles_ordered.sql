-- Latency percentiles of a minute never decrease from p50 to p95 to p99 to max.
select *
from marts.fct_ingestion_latency_1m
where not (
  ingest_p50_ms <= ingest_p95_ms and ingest_p95_ms <= ingest_p99_ms and ingest_p99_ms <= ingest_max_ms
  and lake_p50_ms <= lake_p95_ms and lake_p95_ms <= lake_p99_ms and lake_p99_ms <= lake_max_ms
)
