/**
 * Parses Binance public-data spot trade CSVs (data.binance.vision):
 * `id,price,qty,quote_qty,time,is_buyer_maker,is_best_match`, no header, time in ms or (from 2025) µs.
 */
import { parseUnits } from "../decimal.ts";
import type { Trade } from "./market.ts";

/** Times above this are microseconds: 10¹⁴ ms is the year 5138, 10¹⁴ µs is 1973. */
const MICROSECONDS_ABOVE = 1e14;

/** A line that could not be read, 1-based. */
export interface CsvLineError {
  line: number;
  message: string;
}

/** A CSV time in ms or µs, as microseconds. */
export function csvTimeToMicros(value: number): number {
  return value > MICROSECONDS_ABOVE ? value : value * 1000;
}

/** Whether a line is the optional header (futures files have one, spot files do not). */
export function isCsvHeader(line: string): boolean {
  return /^[A-Za-z_ ]/.test(line);
}

/**
 * One CSV line as a trade of `symbol`, emitted at its own trade time.
 *
 * @throws {SyntaxError} When a field is missing or not what the format says.
 */
export function parseTradeCsvLine(line: string, symbol: string): Trade {
  const fields = line.trim().split(",");
  if (fields.length !== 7) {
    throw new SyntaxError(`Cannot parse trade: expected 7 comma-separated fields, got ${fields.length}`);
  }
  const [id, price, qty, quoteQty, time, isBuyerMaker] = fields as [string, string, string, string, string, string];
  const timeUs = csvTimeToMicros(wholeNumber("time", time));
  return {
    symbol,
    id: wholeNumber("id", id),
    price: positive("price", price),
    qty: positive("qty", qty),
    quoteQty: parseField("quote_qty", quoteQty),
    timeUs,
    eventTimeUs: timeUs,
    isBuyerMaker: boolean("is_buyer_maker", isBuyerMaker),
  };
}

/** Every trade of a whole CSV text, with the lines that could not be read. */
export function parseTradeCsv(text: string, symbol: string): { trades: Trade[]; errors: CsvLineError[] } {
  const trades: Trade[] = [];
  const errors: CsvLineError[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "" || (index === 0 && isCsvHeader(line))) return;
    try {
      trades.push(parseTradeCsvLine(line, symbol));
    } catch (error) {
      errors.push({ line: index + 1, message: (error as Error).message });
    }
  });
  return { trades, errors };
}

function wholeNumber(name: string, text: string): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new SyntaxError(`Cannot parse ${name}: expected a whole number, got "${text}"`);
  }
  return value;
}

function parseField(name: string, text: string): bigint {
  try {
    return parseUnits(text);
  } catch {
    throw new SyntaxError(`Cannot parse ${name}: expected a decimal with at most 8 decimals, got "${text}"`);
  }
}

function positive(name: string, text: string): bigint {
  const value = parseField(name, text);
  if (value === 0n) throw new SyntaxError(`Cannot parse ${name}: expected a value above 0, got "${text}"`);
  return value;
}

function boolean(name: string, text: string): boolean {
  const lower = text.toLowerCase();
  if (lower !== "true" && lower !== "false") {
    throw new SyntaxError(`Cannot parse ${name}: expected True or False, got "${text}"`);
  }
  return lower === "true";
}
