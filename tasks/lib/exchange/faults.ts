/**
 * Fault injection for WebSocket clients: which faults hit a sent trade, and the bad frames themselves.
 *
 * Pure and seeded, so a seed and a connection number always give the same faults. Bad frames are *extra* frames:
 * the real trade is always sent intact, so the set of valid trades a client sees only changes through the
 * delivery faults (`duplicate`, `out_of_order`, `drop`, `stall`). Frames follow the connection's market (a futures
 * trade has a type); `wrong_market` sends the other market's shape of the trade: spot's (`M`, no `X`) on a USDⓈ-M
 * stream, a futures frame (`X`, no `M`) on a spot stream.
 */
import type { TimeUnit } from "./encode.ts";
import {
  futuresTradeEventJson,
  marketTradeEventJson,
  timeIn,
  tradeEventJson,
  tradeStreamName,
  wrapCombined,
} from "./encode.ts";
import { formatUnits } from "../decimal.ts";
import type { Trade } from "./market.ts";
import { type Random, randomIndex } from "./prng.ts";

/** Every fault the exchange can inject, in the order they are drawn. */
export const FAULT_KINDS = [
  "malformed_json",
  "wrong_types",
  "missing_fields",
  "bad_price",
  "bad_qty",
  "unknown_event",
  "unsubscribed_symbol",
  "wrong_market",
  "oversized",
  "duplicate",
  "out_of_order",
  "drop",
  "stall",
] as const;

/** One kind of fault. */
export type FaultKind = typeof FAULT_KINDS[number];

/** Probability of each fault per sent trade message, 0 to 1. */
export type FaultRates = Partial<Record<FaultKind, number>>;

/** Frames above this many bytes are oversized: Binance never sends a trade anywhere near it. */
export const OVERSIZED_BYTES = 64 * 1024;

/**
 * Parses `kind=rate,kind=rate`, e.g. `malformed_json=0.01,drop=0.001`.
 *
 * @throws {SyntaxError} When an item is not `kind=rate` or the kind is unknown.
 * @throws {RangeError} When a rate is not a number from 0 to 1.
 */
export function parseFaultRates(text: string): FaultRates {
  const rates: FaultRates = {};
  for (const item of text.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
    const [kind, rate, ...rest] = item.split("=");
    if (rate === undefined || rest.length > 0) {
      throw new SyntaxError(`Cannot parse fault "${item}": expected kind=rate such as drop=0.001`);
    }
    if (!(FAULT_KINDS as readonly string[]).includes(kind!)) {
      throw new SyntaxError(`Cannot parse fault "${item}": unknown kind, expected one of ${FAULT_KINDS.join(", ")}`);
    }
    const probability = /^\d*\.?\d+$/.test(rate) ? Number(rate) : NaN;
    if (!(probability >= 0 && probability <= 1)) {
      throw new RangeError(`Cannot parse fault "${item}": expected a rate from 0 to 1`);
    }
    rates[kind as FaultKind] = probability;
  }
  return rates;
}

/** The faults hitting one sent trade: each kind independently with its probability, in {@link FAULT_KINDS} order. */
export function drawFaults(rates: FaultRates, random: Random): FaultKind[] {
  const hits: FaultKind[] = [];
  for (const kind of FAULT_KINDS) {
    const rate = rates[kind];
    if (rate !== undefined && rate > 0 && random.next() < rate) hits.push(kind);
  }
  return hits;
}

/** What a connection does next. */
export type Delivery =
  | { action: "send"; frame: string; fault?: FaultKind }
  | { action: "stall"; fault: "stall" }
  | { action: "drop"; fault: "drop" };

/** What the injector must know about its connection. */
export interface FaultTarget {
  combined: boolean;
  unit: TimeUnit;
  subscribed: ReadonlySet<string>;
  /** Symbols to pick an unsubscribed one from (any not in `subscribed`). */
  otherSymbols: readonly string[];
}

/**
 * Turns each valid trade frame of one connection into what to send, with faults drawn from `random`.
 *
 * `out_of_order` holds a frame back and sends it after the next trade, so it is only applied when the caller says
 * another trade is queued; `duplicate` re-sends the previous valid frame (or this one, when it is the first).
 */
export class FaultInjector {
  #rates: FaultRates;
  #random: Random;
  #target: FaultTarget;
  #held: string | undefined;
  #lastValid: string | undefined;

  constructor(rates: FaultRates, random: Random, target: FaultTarget) {
    this.#rates = rates;
    this.#random = random;
    this.#target = target;
  }

  /** The deliveries for one trade whose valid frame is `frame`. */
  deliver(trade: Trade, frame: string, hasNext: boolean): Delivery[] {
    const faults = drawFaults(this.#rates, this.#random);
    const deliveries: Delivery[] = [];
    const previous = this.#lastValid;
    if (this.#held !== undefined) {
      deliveries.push({ action: "send", frame }, { action: "send", frame: this.#held, fault: "out_of_order" });
      this.#held = undefined;
    } else if (faults.includes("out_of_order") && hasNext && !faults.includes("drop") && !faults.includes("stall")) {
      this.#held = frame;
    } else {
      deliveries.push({ action: "send", frame });
    }
    this.#lastValid = frame;
    for (const fault of faults) {
      if (fault === "duplicate") deliveries.push({ action: "send", frame: previous ?? frame, fault });
      else if (fault === "stall" || fault === "drop") continue;
      else if (fault !== "out_of_order") deliveries.push({ action: "send", frame: this.badFrame(fault, trade), fault });
    }
    if (faults.includes("stall")) deliveries.push({ action: "stall", fault: "stall" });
    if (faults.includes("drop")) deliveries.push({ action: "drop", fault: "drop" });
    return deliveries;
  }

  /** The extra, invalid frame of a frame fault, wrapped like the connection's other frames. */
  badFrame(fault: Exclude<FaultKind, "duplicate" | "out_of_order" | "drop" | "stall">, trade: Trade): string {
    const { unit } = this.#target;
    switch (fault) {
      case "malformed_json":
        return malformedFrame(this.#wrap(trade.symbol, marketTradeEventJson(trade, unit)), this.#random);
      case "wrong_types":
        return this.#wrap(trade.symbol, wrongTypesPayload(trade, unit, this.#random));
      case "missing_fields":
        return this.#wrap(trade.symbol, missingFieldsPayload(trade, unit, this.#random));
      case "bad_price":
        return this.#wrap(trade.symbol, tradeWith(trade, unit, { p: pick(BAD_PRICES, this.#random) }));
      case "bad_qty":
        return this.#wrap(trade.symbol, tradeWith(trade, unit, { q: pick(BAD_QUANTITIES, this.#random) }));
      case "unknown_event":
        return this.#wrap(trade.symbol, unknownEventPayload(trade, unit));
      case "unsubscribed_symbol": {
        const symbol = unsubscribedSymbol(this.#target, this.#random);
        return this.#wrap(symbol, marketTradeEventJson({ ...trade, symbol }, unit));
      }
      case "wrong_market":
        return this.#wrap(trade.symbol, wrongMarketPayload(trade, unit));
      case "oversized":
        return this.#wrap(trade.symbol, oversizedPayload(trade, unit));
    }
  }

  #wrap(symbol: string, payload: string): string {
    return this.#target.combined ? wrapCombined(tradeStreamName(symbol), payload) : payload;
  }
}

/** Prices a valid trade never has: zero, negative, overflowing, not a number. */
export const BAD_PRICES = ["0.00000000", "-5.0", "1e309", "-1.00000000", "NaN", ""] as const;
/** Quantities a valid trade never has. */
export const BAD_QUANTITIES = ["0.00000000", "-0.00100000", "1e309", "Infinity", "abc"] as const;

/** A frame cut short or garbled so that it is not JSON. */
export function malformedFrame(frame: string, random: Random): string {
  switch (randomIndex(random, 3)) {
    case 0:
      return frame.slice(0, 1 + randomIndex(random, frame.length - 1)); // truncated
    case 1:
      return frame.replace(/"/g, "'"); // single quotes: readable, but not JSON
    default:
      return `${frame.slice(0, -1)},}`; // trailing comma
  }
}

/** A trade whose fields have the wrong JSON types: price as a number, id as a string, and so on. */
export function wrongTypesPayload(trade: Trade, unit: TimeUnit, random: Random): string {
  const variants: Record<string, unknown>[] = [
    { p: Number(formatUnits(trade.price)) },
    { t: String(trade.id) },
    { q: Number(formatUnits(trade.qty)) },
    { T: String(timeIn(unit, trade.timeUs)) },
    { m: String(trade.isBuyerMaker) },
    { s: null },
  ];
  return tradeWith(trade, unit, pick(variants, random));
}

/** The trade in the other market's shape: spot's for a futures trade, a MARKET futures frame for a spot trade. */
export function wrongMarketPayload(trade: Trade, unit: TimeUnit): string {
  if (trade.tradeType !== undefined) return tradeEventJson(trade, unit);
  return futuresTradeEventJson({ ...trade, tradeType: "MARKET" }, unit);
}

/** A trade with one required field left out. */
export function missingFieldsPayload(trade: Trade, unit: TimeUnit, random: Random): string {
  const event = JSON.parse(marketTradeEventJson(trade, unit)) as Record<string, unknown>;
  delete event[pick(["e", "E", "s", "t", "p", "q", "T", "m"], random)];
  return JSON.stringify(event);
}

/** An event type clients do not know, carrying the trade's symbol. */
export function unknownEventPayload(trade: Trade, unit: TimeUnit): string {
  return JSON.stringify({ e: "foo", E: timeIn(unit, trade.eventTimeUs), s: trade.symbol, x: trade.id });
}

/** A valid-looking trade padded past {@link OVERSIZED_BYTES}. */
export function oversizedPayload(trade: Trade, unit: TimeUnit): string {
  return tradeWith(trade, unit, { pad: "x".repeat(OVERSIZED_BYTES) });
}

/** The trade event with some fields replaced or added, key order otherwise kept. */
function tradeWith(trade: Trade, unit: TimeUnit, changes: Record<string, unknown>): string {
  return JSON.stringify({ ...(JSON.parse(marketTradeEventJson(trade, unit)) as Record<string, unknown>), ...changes });
}

/** A symbol the connection did not subscribe to: another served symbol when there is one. */
function unsubscribedSymbol(target: FaultTarget, random: Random): string {
  const candidates = [...target.otherSymbols, "DOGEUSDT", "XRPUSDT", "ADAUSDT"].filter((s) =>
    !target.subscribed.has(s)
  );
  return pick(candidates, random);
}

function pick<T>(items: readonly T[], random: Random): T {
  return items[randomIndex(random, items.length)]!;
}
