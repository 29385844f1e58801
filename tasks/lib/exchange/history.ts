/**
 * The last N trades of one symbol, in id order, for the REST endpoints.
 *
 * A ring buffer: appending past the capacity drops the oldest trade in O(1). Lookups by id and by time are binary
 * searches, which relies on ids ascending and times never decreasing, as on the exchange.
 */
import type { Trade } from "./market.ts";

/** What the history orders by: an ascending id and a never-decreasing time. */
export interface Ordered {
  id: number;
  timeUs: number;
}

/** A bounded, ordered trade history (also of aggregates, which are ordered the same way). */
export class TradeHistory<T extends Ordered = Trade> {
  readonly capacity: number;
  #trades: T[] = [];
  #start = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cannot create history: capacity must be a whole number above 0, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** How many trades are kept. */
  get size(): number {
    return this.#trades.length;
  }

  /** Adds the newest trade, dropping the oldest when full. */
  append(trade: T): void {
    if (this.#trades.length < this.capacity) {
      this.#trades.push(trade);
      return;
    }
    this.#trades[this.#start] = trade;
    this.#start = (this.#start + 1) % this.capacity;
  }

  /** The trade at `index` counted from the oldest kept (0). */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#trades.length) return undefined;
    return this.#trades[(this.#start + index) % this.#trades.length];
  }

  /** The trades from `from` (inclusive) to `to` (exclusive), oldest first. */
  slice(from: number, to: number): T[] {
    const result: T[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, this.size); i++) result.push(this.at(i)!);
    return result;
  }

  /** The `limit` most recent trades, oldest first. */
  latest(limit: number): T[] {
    return this.slice(this.size - limit, this.size);
  }

  /** Up to `limit` trades from id `fromId` on; an id older than the history starts at the oldest kept. */
  fromId(fromId: number, limit: number): T[] {
    const first = this.#firstIndex((trade) => trade.id >= fromId);
    return this.slice(first, first + limit);
  }

  /** Every kept trade with `fromUs <= timeUs <= toUs`, oldest first. */
  betweenTimes(fromUs: number, toUs: number): T[] {
    return this.slice(
      this.#firstIndex((trade) => trade.timeUs >= fromUs),
      this.#firstIndex((trade) => trade.timeUs > toUs),
    );
  }

  /** The first index whose trade satisfies `isAtOrAfter` (monotonic over the history), or `size`. */
  #firstIndex(isAtOrAfter: (trade: T) => boolean): number {
    let low = 0;
    let high = this.size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (isAtOrAfter(this.at(middle)!)) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}
