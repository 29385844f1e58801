/**
 * When to reconnect: capped exponential backoff with full jitter, inside the exchange's connection budget
 * (300 connection attempts per 5 minutes per IP; going over risks a ban, so we keep a margin).
 */

/** Backoff shape. */
export interface BackoffOptions {
  /** First delay ceiling. Default: 500 ms. */
  baseMs?: number;
  /** Largest delay. Default: 30 s. */
  capMs?: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 = first retry): a uniform draw in [0, min(cap, base·2^attempt)],
 * so many clients cut at once do not reconnect in step. `random` returns a number in [0, 1).
 */
export function backoffDelayMs(attempt: number, random: () => number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 30_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** A sliding window of connection attempts that says how long to wait before the next one is allowed. */
export class ConnectionBudget {
  #attempts: number[] = [];

  /** Default: 250 attempts per 5 minutes, under the exchange's 300. */
  constructor(readonly maxAttempts = 250, readonly windowMs = 300_000) {}

  /** Milliseconds until an attempt at `nowMs` would fit the budget (0: now). */
  waitMs(nowMs: number): number {
    this.#forget(nowMs);
    if (this.#attempts.length < this.maxAttempts) return 0;
    return this.#attempts[0]! + this.windowMs - nowMs;
  }

  /** Records an attempt made at `nowMs`. */
  record(nowMs: number): void {
    this.#forget(nowMs);
    this.#attempts.push(nowMs);
  }

  #forget(nowMs: number): void {
    while (this.#attempts.length > 0 && this.#attempts[0]! <= nowMs - this.windowMs) this.#attempts.shift();
  }
}
