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
import { sqlString, sqlStringList } from "../../duckdb.ts";
import { type CsvLayout, TIME_RANGES } from "./csv_layout.ts";

/** Where the rows come from and go. */
export interface ImportStatement {
  /** Absolute path of the unzipped CSV, or of its parts in order (none with a header). */
  csvPath: string | readonly string[];
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
  /** Every row's `trade_type`: `MARKET` on futures (their archive lists only those), undefined on spot (null). */
  tradeType?: string | undefined;
}

/** How amounts are read: straight into DECIMAL(18, 8) (fast), or as text converted exactly (any size). */
export type AmountReading = "decimal18" | "text";

/**
 * The `read_csv(…)` of an archive file (or its parts): every column typed by position, nothing sniffed.
 * `bufferBytes` bounds how much of the file DuckDB holds at once (its default is 32 MiB).
 */
export function readArchiveCsv(
  csvPath: string | readonly string[],
  layout: CsvLayout,
  amounts: AmountReading = "text",
  options: { bufferBytes?: number | undefined } = {},
): string {
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
  const [source, header] = typeof csvPath === "string"
    ? [sqlString(csvPath), layout.hasHeader]
    : [sqlStringList(csvPath), false];
  const buffer = options.bufferBytes === undefined ? "" : `, buffer_size = ${options.bufferBytes}`;
  return `read_csv(${source}, columns = {${columns.join(", ")}}, header = ${header}, ` +
    `auto_detect = false, delim = ',', quote = '', escape = '', new_line = '\\n', strict_mode = true${buffer})`;
}

/** Text → DECIMAL(20, 8), exactly, or an error naming the field and value. */
function exactDecimal(column: string): string {
  const refused = `strpos(${column}, 'e') + strpos(${column}, 'E') > 0 ` +
    `or (strpos(${column}, '.') > 0 and length(${column}) - strpos(${column}, '.') > 8)`;
  return `case when ${refused} then error('${column} ' || ${column}) ` +
    `else coalesce(try_cast(${column} as decimal(18, 8)), ${column}::decimal(20, 8))::decimal(20, 8) end`;
}

/** Narrower checks and reading of {@link archiveRowsSelect}, for one hour of a file. */
export interface RowsOptions {
  /** Every time must lie in this range (the file's unit, end excluded). Default: the years its unit can mean. */
  timeRange?: readonly [number, number];
  /** See {@link readArchiveCsv}. */
  csvBufferBytes?: number;
  /** See {@link ImportStatement.tradeType}. */
  tradeType?: string | undefined;
  /**
   * The id of the file's line just before these (an hour's part): the first row's `source_prev_trade_id`. Default:
   * none, for the file's first line.
   */
  previousId?: number | null | undefined;
}

/**
 * The lake rows of the file, checked: the consumer's columns plus `provenance = 'archive'`, and the Hive keys. Each
 * row's `source_prev_trade_id` is the next lower id the file lists (null for its first): the archive lists every trade
 * it has, so no id in between exists at the source (on futures, the non-market trades it leaves out).
 */
export function archiveRowsSelect(
  csvPath: string | readonly string[],
  layout: CsvLayout,
  pair: string,
  writtenAtMs: number,
  amounts: AmountReading = "text",
  options: RowsOptions = {},
): string {
  const amount = (column: string) => amounts === "text" ? exactDecimal(column) : `${column}::decimal(20, 8)`;
  const [low, high] = options.timeRange ?? TIME_RANGES[layout.timeUnit];
  const read = readArchiveCsv(csvPath, layout, amounts, { bufferBytes: options.csvBufferBytes });
  const toUs = layout.timeUnit === "us" ? "" : " * 1000";
  const previousId = options.previousId ?? null;
  if (previousId !== null && !Number.isSafeInteger(previousId)) throw new RangeError(`previousId ${previousId}`);
  const tradeType = options.tradeType === undefined ? "null::varchar" : sqlString(options.tradeType);
  const bestMatch = layout.columns === 7
    ? "case when is_best_match is null then error('is_best_match missing') else is_best_match end"
    : "null::boolean";
  return `
with lines as (
  select * from ${read}
),
typed as (
  select
    case when coalesce(id < 0, true) then error('id ' || coalesce(id::varchar, 'missing')) else id end as trade_id,
    ${amount("price")} as price,
    ${amount("qty")} as quantity,
    case when coalesce(time < ${low} or time >= ${high}, true) then error('time ' || coalesce(time::varchar, 'missing'))
      else make_timestamp(time${toUs}) end
      as trade_time,
    case when is_buyer_maker is null then error('is_buyer_maker missing') else is_buyer_maker end as is_buyer_maker,
    ${bestMatch} as is_best_match
  from lines
)
select
  trade_id,
  case when coalesce(price <= 0, true) then error('price ' || coalesce(price::varchar, 'missing')) else price end
    as price,
  case when coalesce(quantity <= 0, true) then error('qty ' || coalesce(quantity::varchar, 'missing'))
    else quantity end as quantity,
  trade_time,
  null::timestamp as event_time,
  '${layout.timeUnit}' as time_unit,
  is_buyer_maker,
  is_best_match,
  ${tradeType} as trade_type,
  coalesce(lag(trade_id) over (order by trade_id), ${previousId ?? "null"})::bigint as source_prev_trade_id,
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
  const select = archiveRowsSelect(csvPath, layout, pair, writtenAtMs, amounts, { tradeType: options.tradeType });
  const copyOptions = [
    "format parquet",
    "compression zstd",
    `partition_by (pair, trade_date, "hour")`,
    ...(options.uniqueIds ? [options.uniqueIdsOption] : []),
  ];
  return `copy (${select}\n) to ${sqlString(options.outputDir)} (${copyOptions.join(", ")})`;
}

/** One hour of the file, already split out: its checked rows as one zstd Parquet file at `outputPath`. */
export interface HourStatement extends Omit<ImportStatement, "outputDir" | "csvPath"> {
  /** Absolute path of the hour's part: whole lines, never the file's header (hour_pipeline.ts). */
  partPath: string;
  /** The hour's times in the file's unit, end excluded: a line outside it fails the statement. */
  timeRange: readonly [number, number];
  /** Absolute path of the file written (its folders exist). */
  outputPath: string;
  /** See {@link RowsOptions.previousId}. */
  previousId?: number | null | undefined;
}

/**
 * What an hour's statement holds at once, so that its memory stays the same whatever the size of the hour (a
 * 10M-trade day's hours are 30 MB of CSV, a 1M-trade day's 3 MB): CSV bytes, and rows per Parquet row group (a
 * quarter of DuckDB's default, for files about 4 % larger).
 */
export const HOUR_CSV_BUFFER_BYTES = 4 * 2 ** 20;
export const HOUR_ROW_GROUP_ROWS = 30_720;

/**
 * The statement of one hour: the rows of {@link archiveRowsSelect} without the Hive keys, into one file. The two
 * constant text columns go out as one-value ENUMs: Parquet holds them as the same UTF8 strings (readers see VARCHAR),
 * and DuckDB writes an ENUM's dictionary without hashing every row's text.
 */
export function importHourStatement(options: HourStatement): string {
  const { partPath, layout, pair, writtenAtMs, amounts, timeRange } = options;
  // A list of paths is read as parts, without a header.
  const select = archiveRowsSelect([partPath], layout, pair, writtenAtMs, amounts, {
    timeRange,
    csvBufferBytes: HOUR_CSV_BUFFER_BYTES,
    tradeType: options.tradeType,
    previousId: options.previousId,
  });
  const constants = `time_unit::enum('${layout.timeUnit}') as time_unit, provenance::enum('archive') as provenance`;
  const copyOptions = [
    "format parquet",
    "compression zstd",
    `row_group_size ${HOUR_ROW_GROUP_ROWS}`,
    ...(options.uniqueIds ? [options.uniqueIdsOption] : []),
  ];
  return `copy (select * exclude (pair, trade_date, "hour") replace (${constants}) from (${select}\n)) ` +
    `to ${sqlString(options.outputPath)} (${copyOptions.join(", ")})`;
}
