/** One exchange trade, as the `<symbol>@trade` stream sends it, shared by the unit tests. */
import type { TradePayload } from "../../tasks/lib/ingest/trade_event.ts";

export const TRADE: TradePayload = {
  e: "trade",
  E: 1700000000123,
  s: "BTCUSDT",
  t: 42,
  p: "37000.01000000",
  q: "0.00150000",
  T: 1700000000120,
  m: true,
  M: true,
};
