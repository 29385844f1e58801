/**
 * Exact decimals for prices and quantities: integers of 10⁻⁸ ("units"), formatted with 8 decimals as Binance spot does.
 *
 * Floating point never touches a price or a quantity; products of two unit values carry 16 decimals and are
 * truncated back to 8 with {@link multiplyUnits}.
 */

/** Decimals Binance spot shows in prices, quantities and volumes. */
export const DECIMALS = 8;

/** 10⁸: one whole coin in units. */
export const UNITS_PER_WHOLE = 100_000_000n;

/** Formats units as a decimal string with 8 decimals, e.g. `6723401000000n` → `"67234.01000000"`. */
export function formatUnits(units: bigint): string {
  const sign = units < 0n ? "-" : "";
  const digits = (units < 0n ? -units : units).toString().padStart(DECIMALS + 1, "0");
  return `${sign}${digits.slice(0, -DECIMALS)}.${digits.slice(-DECIMALS)}`;
}

/**
 * Parses a plain non-negative decimal such as `"0.0015"` or `"67234.01000000"` into units.
 *
 * @throws {SyntaxError} When the text is not digits with an optional point and at most 8 decimals.
 */
export function parseUnits(text: string): bigint {
  if (!PLAIN_DECIMAL.test(text)) {
    throw new SyntaxError(`Cannot parse decimal: expected digits with at most 8 decimals, got "${text}"`);
  }
  // One BigInt parse of the digits with the point removed and the fraction padded to 8 places: the lake writer
  // calls this twice per trade.
  const point = text.indexOf(".");
  if (point === -1) return BigInt(text) * UNITS_PER_WHOLE;
  return BigInt(text.slice(0, point) + text.slice(point + 1).padEnd(DECIMALS, "0"));
}

const PLAIN_DECIMAL = /^\d+(?:\.\d{0,8})?$/;

/** price × qty in units, truncated toward zero to 8 decimals (what quoteQty shows; see the REST module). */
export function multiplyUnits(price: bigint, qty: bigint): bigint {
  return (price * qty) / UNITS_PER_WHOLE;
}
