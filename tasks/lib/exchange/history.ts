/**
 * The last N trades of one symbol, in id order, for the REST endpoints.
 *
 * A ring buffer: appending past the capacity drops the oldest trade in O(1). Lookups by id and by time are binary
 * searches, which relies on ids ascending and times never decreasing, as on the exchange.
 */
import type { Trade } from "./market.ts";

/** A bounded, ordered trade history. */
export class TradeHistory {
  readonly capacity: number;
  #trades: Trade[] = [];
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
  append(trade: Trade): void {
    if (this.#trades.length < this.capacity) {
      this.#trades.push(trade);
      return;
    }
    this.#trades[this.#start] = trade;
    this.#start = (this.#start + 1) % this.capacity;
  }

  /** The trade at `index` counted from the oldest kept (0). */
  at(index: number): Trade | undefined {
    if (index < 0 || index >= this.#trades.length) return undefined;
    return this.#trades[(this.#start + index) % this.#trades.length];
  }

  /** The trades from `from` (inclusive) to `to` (exclusive), oldest first. */
  slice(from: number, to: number): Trade[] {
    const result: Trade[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, this.size); i++) result.push(this.at(i)!);
    return result;
  }

  /** The `limit` most recent trades, oldest first. */
  latest(limit: number): Trade[] {
    return this.slice(this.size - limit, this.size);
  }

  /** Up to `limit` trades from id `fromId` on; an id older than the history starts at the oldest kept. */
  fromId(fromId: number, limit: number): Trade[] {
    const first = this.#firstIndex((trade) => trade.id >= fromId);
    return this.slice(first, first + limit);
  }

  /** Every kept trade with `fromUs <= timeUs <= toUs`, oldest first. */
  betweenTimes(fromUs: number, toUs: number): Trade[] {
    return this.slice(
      this.#firstIndex((trade) => trade.timeUs >= fromUs),
      this.#firstIndex((trade) => trade.timeUs > toUs),
    );
  }

  /** The first index whose trade satisfies `isAtOrAfter` (monotonic over the history), or `size`. */
  #firstIndex(isAtOrAfter: (trade: Trade) => boolean): number {
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
