/**
 * What an archive CSV holds, read from the file itself rather than from the market it came from: spot files have no
 * header and seven columns, USDⓈ-M files a header and six; spot times are µs from 2025-01-01, ms before and on
 * futures. The unit is decided once per file from its first trade, then every line must agree. Pure.
 */

/** The shape of one archive CSV. */
export interface CsvLayout {
  /** The first line is a header (futures), not a trade (spot). */
  hasHeader: boolean;
  /** 7: `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`; 6: the same without isBestMatch. */
  columns: 6 | 7;
  timeUnit: "ms" | "us";
}

/** Times at or above this are µs: 10¹⁴ ms is the year 5138, 10¹⁴ µs is 1973. */
const MICROSECONDS_FROM = 1e14;

/** The range a time of each unit must fall in: from 1973 to beyond 2100 (ms), likewise in µs. */
export const TIME_RANGES = { ms: [1e11, 1e14], us: [1e14, 1e17] } as const;

/** Field names for messages, by position. */
export const FIELD_NAMES = ["id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"] as const;

/** An archive CSV line that cannot be imported: the line (1-based), the field and why. */
export class CsvLineError extends SyntaxError {
  constructor(readonly line: number, readonly field: string | undefined, readonly reason: string) {
    super(`line ${line}${field === undefined ? "" : `, field ${field}`}: ${reason}`);
    this.name = "CsvLineError";
  }
}

/**
 * The layout of a file from its first lines (without their line ends).
 *
 * @throws {CsvLineError} When the first trade line does not have 6 or 7 fields or its time is not a whole number.
 */
export function detectCsvLayout(firstLine: string, secondLine: string | undefined): CsvLayout {
  const hasHeader = /^[A-Za-z_ ]/.test(firstLine);
  const line = hasHeader ? secondLine : firstLine;
  const lineNumber = hasHeader ? 2 : 1;
  if (line === undefined || line === "") throw new CsvLineError(lineNumber, undefined, "the file holds no trade");
  const fields = line.split(",");
  if (fields.length !== 6 && fields.length !== 7) {
    throw new CsvLineError(lineNumber, undefined, `expected 6 or 7 comma-separated fields, got ${fields.length}`);
  }
  if (hasHeader && firstLine.split(",").length !== fields.length) {
    throw new CsvLineError(
      1,
      undefined,
      `the header has ${firstLine.split(",").length} fields, the trades ${fields.length}`,
    );
  }
  const time = fields[4]!;
  if (!/^\d{1,17}$/.test(time)) {
    throw new CsvLineError(lineNumber, "time", `expected a whole number, got ${quote(time)}`);
  }
  return { hasHeader, columns: fields.length, timeUnit: Number(time) >= MICROSECONDS_FROM ? "us" : "ms" };
}

const WHOLE = /^\d{1,16}$/;
const DECIMAL = /^\d{1,12}(?:\.\d{1,8})?$/;
const NON_ZERO = /[1-9]/;
const BOOLEAN = /^(?:true|false)$/i;

/**
 * Why line `lineNumber` of a file of `layout` cannot be imported, or undefined when it can. The importer lets DuckDB
 * check every line as it converts them and calls this only to name the line and field after DuckDB refused one.
 */
export function checkCsvLine(line: string, lineNumber: number, layout: CsvLayout): CsvLineError | undefined {
  const fields = line.split(",");
  if (fields.length !== layout.columns) {
    return new CsvLineError(
      lineNumber,
      undefined,
      `expected ${layout.columns} comma-separated fields, got ${fields.length}`,
    );
  }
  const [id, price, qty, , time, isBuyerMaker, isBestMatch] = fields as string[];
  const fail = (field: string, expected: string, value: string) =>
    new CsvLineError(lineNumber, field, `expected ${expected}, got ${quote(value)}`);
  if (!WHOLE.test(id!) || !Number.isSafeInteger(Number(id))) return fail("id", "a whole number", id!);
  for (const [field, value] of [["price", price!], ["qty", qty!]] as const) {
    if (!DECIMAL.test(value)) {
      return fail(field, "a decimal with at most 12 digits before and 8 after the point", value);
    }
    if (!NON_ZERO.test(value)) return fail(field, "a value above 0", value);
  }
  const [low, high] = TIME_RANGES[layout.timeUnit];
  const timeValue = /^\d{1,17}$/.test(time!) ? Number(time) : NaN;
  if (!(timeValue >= low && timeValue < high)) {
    return fail(
      "time",
      `a whole number of ${layout.timeUnit === "us" ? "microseconds" : "milliseconds"} like line 1's`,
      time!,
    );
  }
  if (!BOOLEAN.test(isBuyerMaker!)) return fail("is_buyer_maker", "True or False", isBuyerMaker!);
  if (layout.columns === 7 && !BOOLEAN.test(isBestMatch!)) return fail("is_best_match", "True or False", isBestMatch!);
  return undefined;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
