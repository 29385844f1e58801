/** Builds small trade fixtures from readable decimals. */
import { multiplyUnits, parseUnits } from "../../../../tasks/lib/decimal.ts";
import type { Trade } from "../../../../tasks/lib/exchange/market.ts";

/** A trade of `symbol` at `timeMs`, with quoteQty = price × qty. */
export function fixtureTrade(
  id: number,
  timeMs: number,
  price: string,
  qty: string,
  isBuyerMaker: boolean,
  symbol = "BTCUSDT",
): Trade {
  const p = parseUnits(price);
  const q = parseUnits(qty);
  return {
    symbol,
    id,
    price: p,
    qty: q,
    quoteQty: multiplyUnits(p, q),
    timeUs: timeMs * 1000,
    eventTimeUs: timeMs * 1000,
    isBuyerMaker,
  };
}
