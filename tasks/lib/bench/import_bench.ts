/**
 * The import benchmark's figures: the floor statement it compares the import with, and the goals of issue #15 §4.
 * Pure.
 */
import { sqlString } from "../duckdb.ts";
import type { CsvLayout } from "../lake/archive/csv_layout.ts";
import { readArchiveCsv } from "../lake/archive/import_sql.ts";

/** What the floor reads and where it writes. */
export interface FloorStatement {
  /** Absolute path of the unzipped archive CSV. */
  csvPath: string;
  layout: CsvLayout;
  pair: string;
  /** Absolute folder the Hive-partitioned files go under. */
  outputDir: string;
}

/**
 * The floor: DuckDB turning the unzipped CSV into the lake's Parquet layout in one statement, the same columns and
 * types as the import writes (`pair=/trade_date=/hour=` folders, zstd), with no checks and no unzip.
 */
export function importFloorStatement(options: FloorStatement): string {
  const { layout } = options;
  const toUs = layout.timeUnit === "us" ? "" : " * 1000";
  const bestMatch = layout.columns === 7 ? "is_best_match" : "null::boolean";
  return `copy (
  select
    *,
    ${sqlString(options.pair)} as pair,
    strftime(trade_time, '%Y-%m-%d') as trade_date,
    strftime(trade_time, '%H') as "hour"
  from (
    select
      id as trade_id,
      price::decimal(20, 8) as price,
      qty::decimal(20, 8) as quantity,
      make_timestamp(time${toUs}) as trade_time,
      null::timestamp as event_time,
      '${layout.timeUnit}' as time_unit,
      is_buyer_maker,
      ${bestMatch} as is_best_match,
      null::varchar as trade_type,
      -- as the import does: each row names the id listed before it, which proves absences (fct_trade_gaps)
      lag(id) over (order by id) as source_prev_trade_id,
      null::timestamp as ingested_at,
      make_timestamp(0::bigint) as lake_written_at,
      false as is_backfilled,
      'archive' as provenance,
      null::integer as schema_version,
      null::integer as kafka_partition,
      null::bigint as kafka_offset
    from ${readArchiveCsv(options.csvPath, layout, "decimal18")}
  )
) to ${sqlString(options.outputDir)} (format parquet, compression zstd, partition_by (pair, trade_date, "hour"))`;
}

/** One import of a generated day, measured from outside. */
export interface ImportRunFigures {
  trades: number;
  seconds: number;
  peakRssBytes: number;
}

/** The goals of issue #15 §4 and whether the runs met them. */
export function importGoals(large: ImportRunFigures, small: ImportRunFigures, floorSeconds: number) {
  const tradesPerS = large.trades / large.seconds;
  const ratioToFloor = floorSeconds / large.seconds;
  const peakMb = Math.max(large.peakRssBytes, small.peakRssBytes) / 2 ** 20;
  const rssRatio = Math.max(large.peakRssBytes, small.peakRssBytes) /
    Math.max(1, Math.min(large.peakRssBytes, small.peakRssBytes));
  return {
    trades_per_s: { goal: ">= 1000000", met: tradesPerS >= 1_000_000 },
    ratio_to_floor: { goal: ">= 0.6", met: ratioToFloor >= 0.6 },
    peak_rss_mb: { goal: "<= 1024 (both days)", met: peakMb <= 1024 },
    rss_large_to_small: { goal: "within 20 %", met: rssRatio <= 1.2 },
  };
}
