/** Small pure helpers that turn raw benchmark samples into the figures we report. */

/** The q-quantile (0..1) of `values` by nearest rank, or null when there are none. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One observation of a growing count (e.g. messages in a topic) at a time in ms. */
export interface CountSample {
  atMs: number;
  count: number;
}

/**
 * Throughput while the count went from 10 % to 90 % of `total`: start-up and the tail are left out, so the
 * figure is the rate the system sustains. Null when the samples do not span that range.
 */
export function sustainedRate(samples: readonly CountSample[], total: number): number | null {
  const first = samples.find((s) => s.count >= total * 0.1);
  const last = samples.find((s) => s.count >= total * 0.9);
  if (!first || !last || last.atMs <= first.atMs) return null;
  return (last.count - first.count) / ((last.atMs - first.atMs) / 1000);
}

/** Rounds for JSON output: whole numbers above 100, two decimals below. */
export function round(value: number | null): number | null {
  if (value === null) return null;
  return Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
}

/**
 * A uniform random sample of at most `capacity` values from a stream of any length (Algorithm R), so a
 * long-running process can report quantiles in fixed memory. `count` is every value offered.
 */
export class ReservoirSample {
  readonly #values: Float64Array;
  #count = 0;

  constructor(readonly capacity = 50_000, private readonly random: () => number = Math.random) {
    this.#values = new Float64Array(capacity);
  }

  add(value: number): void {
    if (this.#count < this.capacity) {
      this.#values[this.#count] = value;
    } else {
      const slot = Math.floor(this.random() * (this.#count + 1));
      if (slot < this.capacity) this.#values[slot] = value;
    }
    this.#count++;
  }

  /** How many values were offered, kept or not. */
  get count(): number {
    return this.#count;
  }

  /** The q-quantile (0..1) of the kept values, or null when none were offered. */
  quantile(q: number): number | null {
    return quantile(Array.from(this.#values.subarray(0, Math.min(this.#count, this.capacity))), q);
  }
}
