/** Binance's REQUEST_WEIGHT limit: every REST request costs a weight, and each calendar minute has a budget. */

/** The outcome of one request. */
export interface WeightDecision {
  allowed: boolean;
  /** Weight used this minute, after this request if it was allowed (the `X-MBX-USED-WEIGHT-1M` header). */
  used: number;
  /** Whole seconds until the minute resets (the `Retry-After` header when not allowed). */
  retryAfterSeconds: number;
}

/** Counts weight per calendar minute, as Binance resets it on the minute. */
export class WeightLimiter {
  readonly limit: number;
  #minute = -1;
  #used = 0;

  constructor(limitPerMinute: number) {
    this.limit = limitPerMinute;
  }

  /** Charges `weight` at `nowMs` unless it would pass the limit; refused requests are not charged. */
  take(weight: number, nowMs: number): WeightDecision {
    const minute = Math.floor(nowMs / 60_000);
    if (minute !== this.#minute) {
      this.#minute = minute;
      this.#used = 0;
    }
    const allowed = this.#used + weight <= this.limit;
    if (allowed) this.#used += weight;
    return {
      allowed,
      used: this.#used,
      retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - nowMs) / 1000)),
    };
  }
}
