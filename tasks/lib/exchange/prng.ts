/** A small seeded pseudo-random generator, so a seed always produces the same market and the same faults. */

/** Draws numbers; every draw advances the state. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

/**
 * mulberry32: 32 bits of state, fast and good enough for simulation (not for cryptography).
 *
 * @example Same seed, same sequence
 * ```ts
 * const a = mulberry32(7), b = mulberry32(7);
 * a.next() === b.next(); // true
 * ```
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Mixes a seed with a stream number (e.g. a connection index) into an independent seed (splitmix32-style). */
export function deriveSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A whole number in [0, n). */
export function randomIndex(random: Random, n: number): number {
  return Math.floor(random.next() * n);
}

/** A standard normal draw (Box–Muller); only ever used to size moves, never as a price. */
export function randomNormal(random: Random): number {
  const u = 1 - random.next(); // (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}
