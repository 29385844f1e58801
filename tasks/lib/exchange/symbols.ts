/**
 * Trading rules of the symbols the local exchange knows: close to Binance spot's filters in 2025, and to the USDⓈ-M
 * perpetuals' (coarser ticks and steps: BTCUSDT 0.1 and 0.001) for the futures market.
 */
import { parseUnits } from "../decimal.ts";

/** How one symbol trades; every amount is in units of 10⁻⁸ (see tasks/lib/decimal.ts). */
export interface SymbolSpec {
  symbol: string;
  /** Where the random walk starts. */
  startPrice: bigint;
  /** PRICE_FILTER tickSize: every price is a whole number of ticks. */
  tickSize: bigint;
  /** LOT_SIZE stepSize: every quantity is a whole number of steps. */
  stepSize: bigint;
  /** Smallest typical trade, in steps: the scale of the heavy-tailed quantity distribution. */
  typicalSteps: number;
}

function spec(
  symbol: string,
  startPrice: string,
  tickSize: string,
  stepSize: string,
  typicalSteps: number,
): SymbolSpec {
  return {
    symbol,
    startPrice: parseUnits(startPrice),
    tickSize: parseUnits(tickSize),
    stepSize: parseUnits(stepSize),
    typicalSteps,
  };
}

const KNOWN: Record<string, SymbolSpec> = {
  BTCUSDT: spec("BTCUSDT", "60000", "0.01", "0.00001", 5),
  ETHUSDT: spec("ETHUSDT", "3000", "0.01", "0.0001", 10),
  SOLUSDT: spec("SOLUSDT", "150", "0.01", "0.001", 20),
  BNBUSDT: spec("BNBUSDT", "600", "0.01", "0.001", 10),
  XRPUSDT: spec("XRPUSDT", "0.5", "0.0001", "0.1", 50),
  DOGEUSDT: spec("DOGEUSDT", "0.15", "0.00001", "1", 50),
};

/** The spec of `symbol`; symbols the exchange does not know trade near 100.00 with tick 0.01 and step 0.001. */
export function symbolSpec(symbol: string): SymbolSpec {
  return KNOWN[symbol] ?? spec(symbol, "100", "0.01", "0.001", 10);
}

/** USDⓈ-M perpetuals: Binance's PRICE_FILTER and LOT_SIZE of each contract, so sizes are whole contracts. */
const KNOWN_FUTURES: Record<string, SymbolSpec> = {
  BTCUSDT: spec("BTCUSDT", "60000", "0.1", "0.001", 5),
  ETHUSDT: spec("ETHUSDT", "3000", "0.01", "0.001", 10),
  SOLUSDT: spec("SOLUSDT", "150", "0.01", "1", 2),
  BNBUSDT: spec("BNBUSDT", "600", "0.01", "0.01", 10),
  XRPUSDT: spec("XRPUSDT", "0.5", "0.0001", "0.1", 50),
  DOGEUSDT: spec("DOGEUSDT", "0.15", "0.00001", "1", 50),
};

/** The perpetual's spec of `symbol`; unknown symbols trade near 100.00 with tick 0.01 and step 0.001, as on spot. */
export function futuresSymbolSpec(symbol: string): SymbolSpec {
  return KNOWN_FUTURES[symbol] ?? spec(symbol, "100", "0.01", "0.001", 10);
}
