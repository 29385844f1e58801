/**
 * The one DuckDB statement that turns an archive CSV into the lake's Parquet files: read, check and convert every
 * line, and write one file per hour partition (`pair=/trade_date=/hour=`) with the consumer's columns. Pure.
 *
 * Checks run inside the statement (a bad value calls `error()`, which stops it, so nothing of the file is written);
 * the importer then reads the file itself to name the line and field (csv_layout.ts `checkCsvLine`).
 *
 * Prices and quantities must arrive exactly. DuckDB's text → DECIMAL(20, 8) conversion (a 128-bit integer) costs
 * about 7 µs a value, against 0.1 µs into DECIMAL(18, 8), which holds 10 whole digits; and both round a value with
 * more than 8 decimals instead of refusing it. So the fast statement reads DECIMAL(18, 8) straight from the CSV, once
 * the unzip has seen every amount's text is plain digits with at most 8 decimals (unzip_csv.ts); a file with an
 * amount beyond 10 whole digits fails it and is converted again by the text statement, which reads amounts as text,
 * refuses what would round, and takes the wide conversion only for the values that need it.
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
  amounts: AmountReading;
}

/** How amounts are read: straight into DECIMAL(18, 8) (fast), or as text converted exactly (any size). */
export type AmountReading = "decimal18" | "text";

/** The `read_csv(…)` of an archive file: every column typed by position, nothing sniffed. */
export function readArchiveCsv(csvPath: string, layout: CsvLayout, amounts: AmountReading = "text"): string {
  const amountType = amounts === "text" ? "VARCHAR" : "DECIMAL(18, 8)";
  const columns = [
    "'id': 'BIGINT'",
    `'price': '${amountType}'`,
    `'qty': '${amountType}'`,
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
export function archiveRowsSelect(
  csvPath: string,
  layout: CsvLayout,
  pair: string,
  writtenAtMs: number,
  amounts: AmountReading = "text",
): string {
  const amount = (column: string) => amounts === "text" ? exactDecimal(column) : `${column}::decimal(20, 8)`;
  const [low, high] = TIME_RANGES[layout.timeUnit];
  const toUs = layout.timeUnit === "us" ? "" : " * 1000";
  const bestMatch = layout.columns === 7 ? "is_best_match" : "null::boolean";
  return `
with lines as (
  select * from ${readArchiveCsv(csvPath, layout, amounts)}
),
typed as (
  select
    case when id < 0 then error('id ' || id) else id end as trade_id,
    ${amount("price")} as price,
    ${amount("qty")} as quantity,
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
  const { csvPath, layout, pair, writtenAtMs, amounts } = options;
  const select = archiveRowsSelect(csvPath, layout, pair, writtenAtMs, amounts);
  const copyOptions = [
    "format parquet",
    "compression zstd",
    `partition_by (pair, trade_date, "hour")`,
    ...(options.uniqueIds ? [options.uniqueIdsOption] : []),
  ];
  return `copy (${select}\n) to ${sqlString(options.outputDir)} (${copyOptions.join(", ")})`;
}
