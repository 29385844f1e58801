import { type Market, marketProfile } from "../market.ts";

/**
 * Kline planning: which minutes are due for a check and how to ask the exchange for them within the REST weight
 * budget, as pure functions. Kept apart from the fetch and the database so the choices can be tested on plain data.
 */

/** One minute, in milliseconds. */
export const MINUTE_MS = 60_000;
/** The most klines one `GET /api/v3/klines` (or `/fapi/v1/klines`) returns. */
export const MAX_KLINES_PER_REQUEST = 1000;
/** Request weight of one klines request (REFERENCE.md §2). */
export const KLINES_WEIGHT = 2;
/**
 * Weight one run may spend: a tenth of Binance's 6,000 per minute, so the producer's REST backfill, which shares
 * the IP's budget, always has room. 300 requests cover up to 300,000 minutes.
 */
export const DEFAULT_WEIGHT_BUDGET = 600;

// ---- choosing minutes ------------------------------------------------------------------------------------------

/**
 * The open time of the last minute that may be checked: closed, plus `settleMs` for late trades to reach the lake,
 * before both the clock and the last refresh (trades the refresh had not seen are not in the candles yet).
 */
export function lastCheckableMinuteMs(nowMs: number, refreshedAtMs: number | undefined, settleMs: number): number {
  const asOfMs = Math.min(nowMs, refreshedAtMs ?? nowMs);
  return Math.floor((asOfMs - settleMs - MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
}

/**
 * Why a minute is due: `changed` our candle differs from the one last checked (a refresh changed it: late trades,
 * a repair), `recheck` the last verdict was not a match and it has been checked fewer than the allowed times (the
 * exchange side can lag too), `new` never checked.
 */
export type DueReason = "changed" | "recheck" | "new";
const PRIORITY: Record<DueReason, number> = { changed: 0, recheck: 1, new: 2 };

/** A minute of a pair to check. */
export interface DueMinute {
  pair: string;
  minuteMs: number;
  reason: DueReason;
}

/**
 * The minutes to check this run: each minute once under its most urgent reason, changed before rechecks before
 * new ones, oldest first, at most `maxMinutes`.
 */
export function selectMinutes<T extends DueMinute>(due: readonly T[], maxMinutes: number): T[] {
  const byKey = new Map<string, T>();
  for (const minute of due) {
    const key = `${minute.pair}@${minute.minuteMs}`;
    const known = byKey.get(key);
    if (!known || PRIORITY[minute.reason] < PRIORITY[known.reason]) byKey.set(key, minute);
  }
  return [...byKey.values()]
    .sort((a, b) => PRIORITY[a.reason] - PRIORITY[b.reason] || a.minuteMs - b.minuteMs || a.pair.localeCompare(b.pair))
    .slice(0, maxMinutes);
}

// ---- planning requests -----------------------------------------------------------------------------------------

/** One `GET /api/v3/klines` for a pair's minutes from `firstMinuteMs` to `lastMinuteMs` (open times). */
export interface KlinesRequest {
  pair: string;
  firstMinuteMs: number;
  lastMinuteMs: number;
  /** Klines in the range: the request's `limit`. */
  limit: number;
  /** The due minutes it answers; the others in the range were checked already. */
  minutes: number[];
}

/** The requests to send and how many due minutes wait for a later run because of the weight budget. */
export interface RequestPlan {
  requests: KlinesRequest[];
  deferredMinutes: number;
}

/**
 * Groups minutes into klines requests: per pair, a request spans from its first due minute up to 1000 minutes (the
 * minutes between, already checked, cost nothing extra), oldest first, and only as many requests as `weightBudget`
 * pays for.
 */
export function planRequests(
  minutes: readonly Pick<DueMinute, "pair" | "minuteMs">[],
  options: { weightBudget?: number; maxKlines?: number } = {},
): RequestPlan {
  const { weightBudget = DEFAULT_WEIGHT_BUDGET, maxKlines = MAX_KLINES_PER_REQUEST } = options;
  const byPair = new Map<string, Set<number>>();
  for (const { pair, minuteMs } of minutes) {
    if (minuteMs % MINUTE_MS !== 0) throw new RangeError(`Cannot plan minute ${minuteMs}: expected a whole minute`);
    (byPair.get(pair) ?? byPair.set(pair, new Set()).get(pair)!).add(minuteMs);
  }
  const requests: KlinesRequest[] = [];
  for (const [pair, set] of byPair) {
    let current: KlinesRequest | undefined;
    for (const minuteMs of [...set].sort((a, b) => a - b)) {
      if (current && minuteMs - current.firstMinuteMs < maxKlines * MINUTE_MS) {
        current.lastMinuteMs = minuteMs;
        current.limit = (minuteMs - current.firstMinuteMs) / MINUTE_MS + 1;
        current.minutes.push(minuteMs);
        continue;
      }
      current = { pair, firstMinuteMs: minuteMs, lastMinuteMs: minuteMs, limit: 1, minutes: [minuteMs] };
      requests.push(current);
    }
  }
  requests.sort((a, b) => a.firstMinuteMs - b.firstMinuteMs || a.pair.localeCompare(b.pair));
  const affordable = Math.max(0, Math.floor(weightBudget / KLINES_WEIGHT));
  const deferredMinutes = requests.slice(affordable).reduce((sum, request) => sum + request.minutes.length, 0);
  return { requests: requests.slice(0, affordable), deferredMinutes };
}

/**
 * The URL of a klines request on `market`'s klines endpoint (spot `/api/v3/klines`, usdm `/fapi/v1/klines`): open
 * times from the first minute to the last one's close, in ms.
 */
export function klinesUrl(restUrl: URL, request: KlinesRequest, market: Market = "spot"): URL {
  const url = new URL(marketProfile(market).rest.klines, restUrl);
  url.search = new URLSearchParams({
    symbol: request.pair,
    interval: "1m",
    startTime: String(request.firstMinuteMs),
    // the last minute's close time: covers it whether the exchange filters on open or on close time
    endTime: String(request.lastMinuteMs + MINUTE_MS - 1),
    limit: String(request.limit),
  }).toString();
  return url;
}
