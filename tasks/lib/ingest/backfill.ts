/**
 * Heals trade-id gaps from the exchange's REST `historicalTrades?fromId=`, within its request-weight limits.
 *
 * A 429 or 418 pauses every request for the `Retry-After` the exchange asks (418 means an IP ban is in force).
 * Ids the exchange no longer has, or that stay missing after several tries, are abandoned and reported.
 */
import type { RestTrade } from "./envelope.ts";
import type { Gap } from "./gap_tracker.ts";

/** historicalTrades serves at most this many trades per request. */
export const MAX_TRADES_PER_REQUEST = 1000;

/** The exchange asked us to slow down. */
export class RateLimitedError extends Error {
  constructor(readonly status: number, readonly retryAfterMs: number) {
    super(`Exchange REST answered ${status}: retrying after ${Math.ceil(retryAfterMs / 1000)} s`);
    this.name = "RateLimitedError";
  }
}

/**
 * Throws {@link RateLimitedError} when the exchange answered 429 (slow down) or 418 (banned for a while), waiting as
 * long as its Retry-After says (else a minute, or two after a ban); the body is discarded.
 */
export async function refuseIfRateLimited(response: Response): Promise<void> {
  if (response.status !== 429 && response.status !== 418) return;
  await response.body?.cancel();
  const seconds = Number(response.headers.get("retry-after"));
  const fallback = response.status === 418 ? 120_000 : 60_000;
  throw new RateLimitedError(response.status, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : fallback);
}

/** Fetches up to `limit` trades of `symbol` starting at `fromId`, ascending. */
export async function fetchHistoricalTrades(
  restUrl: URL,
  symbol: string,
  fromId: number,
  limit: number,
  fetchImpl: typeof fetch = fetch,
): Promise<RestTrade[]> {
  const url = new URL("/api/v3/historicalTrades", restUrl);
  url.search = new URLSearchParams({ symbol, fromId: String(fromId), limit: String(limit) }).toString();
  return await getTrades(url, `historicalTrades ${symbol} fromId=${fromId}`, fetchImpl);
}

/** The id of the most recent trade of `symbol` (REST `trades?limit=1`), or undefined when it has none. */
export async function fetchLatestTradeId(
  restUrl: URL,
  symbol: string,
  fetchImpl: typeof fetch = fetch,
): Promise<number | undefined> {
  const url = new URL("/api/v3/trades", restUrl);
  url.search = new URLSearchParams({ symbol, limit: "1" }).toString();
  const rows = await getTrades(url, `trades ${symbol}`, fetchImpl);
  return rows.at(-1)?.id;
}

async function getTrades(url: URL, what: string, fetchImpl: typeof fetch): Promise<RestTrade[]> {
  const response = await fetchImpl(url, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(10_000),
  });
  await refuseIfRateLimited(response);
  if (!response.ok) {
    const body = (await response.text()).slice(0, 200);
    throw new Error(`${what} answered ${response.status}: ${body}`);
  }
  const rows: unknown = await response.json();
  if (!Array.isArray(rows)) throw new Error(`${what} answered something other than a list`);
  return rows.filter(isRestTrade);
}

function isRestTrade(row: unknown): row is RestTrade {
  if (typeof row !== "object" || row === null) return false;
  const r = row as Record<string, unknown>;
  return Number.isSafeInteger(r.id) && typeof r.price === "string" && typeof r.qty === "string" &&
    Number.isSafeInteger(r.time) && typeof r.isBuyerMaker === "boolean";
}

/** What one healing pass should do with a gap, given what REST returned from its first id. */
export interface HealPlan {
  /** Trades inside the gap, to publish as backfilled. */
  trades: RestTrade[];
  /** A leading range the exchange does not have (it returned later ids only), to abandon now. */
  unavailable?: Gap;
}

/** Splits a REST answer for `gap` into trades to publish and a leading range the exchange no longer has. */
export function planHeal(gap: Gap, rows: RestTrade[]): HealPlan {
  const trades = rows.filter((row) => row.id >= gap.from && row.id <= gap.to);
  const first = rows[0]?.id;
  if (first !== undefined && first > gap.from) {
    return { trades, unavailable: { from: gap.from, to: Math.min(first - 1, gap.to), firstSeenMs: gap.firstSeenMs } };
  }
  return { trades };
}
