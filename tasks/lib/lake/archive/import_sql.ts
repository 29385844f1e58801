/**
 * The one DuckDB statement that turns an archive CSV into the lake's Parquet files: read, check and convert every
 * line, and write one file per hour partition (`pair=/trade_date=/hour=`) with the consumer's columns. Pure.
 *
 * Checks run inside the statement (a bad value calls `error()`, which stops it, so nothing of the file is written);
 * the importer then reads the file itself to name the line and field (csv_layout.ts `checkCsvLine`).
 *
 * Prices and quantities are read as text and converted exactly: DuckDB's text → DECIMAL(20, 8) conversion, a 128-bit
 * integer, costs about 7 µs a value, against 0.1 µs into DECIMAL(18, 8), which holds 10 whole digits; the wide one
 * only runs for the rare value beyond that. Both round a value with more than 8 decimals, so such text (and the
 * exponent form, which could hide them) is refused first.
 */
import { sqlString } from "../../duckdb.ts";
import { type CsvLayout, TIME_RANGES } from "./csv_layout.ts";

/** Where the rows come from and go. */
export interface ImportStatement {
  /** Absolute path of the unzipped CSV. */
  csvPath: string;
  layout: CsvLayout;
  /** The lake folder name of the pair (already checked to be safe). */
  pair: string;
  /** Absolute folder the partitioned files are written under. */
  outputDir: string;
  writtenAtMs: number;
  /** Every trade id in the file is different (the importer saw them strictly increasing). */
  uniqueIds: boolean;
  /** Key-value metadata option marking unique ids (unique_ids.ts), when `uniqueIds`. */
  uniqueIdsOption: string;
}

/** The `read_csv(…)` of an archive file: every column typed by position, nothing sniffed. */
export function readArchiveCsv(csvPath: string, layout: CsvLayout): string {
  const columns = [
    "'id': 'BIGINT'",
    "'price': 'VARCHAR'",
    "'qty': 'VARCHAR'",
    "'quote_qty': 'VARCHAR'",
    "'time': 'BIGINT'",
    "'is_buyer_maker': 'BOOLEAN'",
    ...(layout.columns === 7 ? ["'is_best_match': 'BOOLEAN'"] : []),
  ];
  return `read_csv(${sqlString(csvPath)}, columns = {${columns.join(", ")}}, header = ${layout.hasHeader}, ` +
    "auto_detect = false, delim = ',', quote = '', escape = '', new_line = '\\n', strict_mode = true)";
}

/** Text → DECIMAL(20, 8), exactly, or an error naming the field and value. */
function exactDecimal(column: string): string {
  const refused = `strpos(${column}, 'e') + strpos(${column}, 'E') > 0 ` +
    `or (strpos(${column}, '.') > 0 and length(${column}) - strpos(${column}, '.') > 8)`;
  return `case when ${refused} then error('${column} ' || ${column}) ` +
    `else coalesce(try_cast(${column} as decimal(18, 8)), ${column}::decimal(20, 8))::decimal(20, 8) end`;
}

/** The lake rows of the file, checked: the consumer's columns plus `provenance = 'archive'`, and the Hive keys. */
export function archiveRowsSelect(csvPath: string, layout: CsvLayout, pair: string, writtenAtMs: number): string {
  const [low, high] = TIME_RANGES[layout.timeUnit];
  const toUs = layout.timeUnit === "us" ? "" : " * 1000";
  const bestMatch = layout.columns === 7 ? "is_best_match" : "null::boolean";
  return `
with lines as (
  select * from ${readArchiveCsv(csvPath, layout)}
),
typed as (
  select
    case when id < 0 then error('id ' || id) else id end as trade_id,
    ${exactDecimal("price")} as price,
    ${exactDecimal("qty")} as quantity,
    case when time < ${low} or time >= ${high} then error('time ' || time) else make_timestamp(time${toUs}) end
      as trade_time,
    case when is_buyer_maker is null then error('is_buyer_maker missing') else is_buyer_maker end as is_buyer_maker,
    ${bestMatch} as is_best_match
  from lines
)
select
  trade_id,
  case when price <= 0 then error('price ' || price) else price end as price,
  case when quantity <= 0 then error('qty ' || quantity) else quantity end as quantity,
  trade_time,
  null::timestamp as event_time,
  '${layout.timeUnit}' as time_unit,
  is_buyer_maker,
  is_best_match,
  null::timestamp as ingested_at,
  make_timestamp(${Math.trunc(writtenAtMs)}::bigint * 1000) as lake_written_at,
  false as is_backfilled,
  'archive' as provenance,
  null::integer as schema_version,
  null::integer as kafka_partition,
  null::bigint as kafka_offset,
  ${sqlString(pair)} as pair,
  strftime(trade_time, '%Y-%m-%d') as trade_date,
  strftime(trade_time, '%H') as "hour"
from typed`;
}

/** The statement: the checked rows, one zstd Parquet file per hour under `outputDir` (Hive folders). */
export function importStatement(options: ImportStatement): string {
  const select = archiveRowsSelect(options.csvPath, options.layout, options.pair, options.writtenAtMs);
  const copyOptions = [
    "format parquet",
    "compression zstd",
    `partition_by (pair, trade_date, "hour")`,
    ...(options.uniqueIds ? [options.uniqueIdsOption] : []),
  ];
  return `copy (${select}\n) to ${sqlString(options.outputDir)} (${copyOptions.join(", ")})`;
}
