/**
 * Trades as lines of an archive CSV, exactly as Binance writes them.
 *
 * Spot: no header, `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`, booleans `True`/`False`. USDⓈ-M futures:
 * a header `id,price,qty,quote_qty,time,is_buyer_maker`, six columns, booleans `true`/`false`. Amounts always have
 * 8 decimals; times are in the file's unit (milliseconds truncated, as Binance does).
 */
import { formatUnits } from "../decimal.ts";
import { timeIn, type TimeUnit } from "./encode.ts";
import type { Trade } from "./market.ts";

/** How one archive CSV is written. */
export interface ArchiveCsvFormat {
  /** Futures style: a header line, six columns, lower-case booleans. Spot (false) has none of that. */
  header: boolean;
  unit: TimeUnit;
}

/** The header line of futures-style files. */
export const FUTURES_TRADES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker\n";

/** The file's first line: the header in futures style, nothing in spot style. */
export function archiveCsvHeader(format: ArchiveCsvFormat): string {
  return format.header ? FUTURES_TRADES_HEADER : "";
}

/**
 * One trade as a CSV line, ending with `\n`.
 *
 * @example Spot, milliseconds
 * ```ts
 * archiveCsvLine(trade, { header: false, unit: "ms" }); // "1000000,58000.01000000,0.00123000,71.34001230,1722470400123,True,True\n"
 * ```
 */
export function archiveCsvLine(trade: Trade, format: ArchiveCsvFormat): string {
  const head = `${trade.id},${formatUnits(trade.price)},${formatUnits(trade.qty)},${formatUnits(trade.quoteQty)},${
    timeIn(format.unit, trade.timeUs)
  }`;
  if (format.header) return `${head},${trade.isBuyerMaker}\n`;
  return `${head},${trade.isBuyerMaker ? "True" : "False"},True\n`;
}
