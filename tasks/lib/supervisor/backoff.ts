/** When the supervisor restarts a crashed component: capped exponential backoff, forgotten after a stable run. Pure. */

/** First restart delay. */
export const RESTART_BASE_MS = 1000;
/** Largest restart delay. */
export const RESTART_CAP_MS = 60_000;
/** A component that ran this long before it exited was stable: its next restart waits the base delay again. */
export const STABLE_AFTER_MS = 60_000;

/**
 * The delay before restarting a component that exited after running `ranMs`, given how many times in a row it
 * had already crashed without a stable run (`crashesInRow`); returns the delay and the new count.
 *
 * @example Three quick crashes in a row
 * ```ts
 * import { restartDelay } from "./backoff.ts";
 * restartDelay(0, 500); // { delayMs: 1000, crashesInRow: 1 }
 * restartDelay(1, 500); // { delayMs: 2000, crashesInRow: 2 }
 * restartDelay(2, 500); // { delayMs: 4000, crashesInRow: 3 }
 * ```
 */
export function restartDelay(crashesInRow: number, ranMs: number): { delayMs: number; crashesInRow: number } {
  const previous = ranMs >= STABLE_AFTER_MS ? 0 : crashesInRow;
  return {
    delayMs: Math.min(RESTART_CAP_MS, RESTART_BASE_MS * 2 ** Math.min(previous, 30)),
    crashesInRow: previous + 1,
  };
}
