/**
 * Heals trade-id gaps from the exchange's REST `historicalTrades?fromId=`, within its request-weight limits.
 *
 * A 429 or 418 pauses every request for the `Retry-After` the exchange asks (418 means an IP ban is in force).
 * Ids the exchange no longer has, or that stay missing after several tries, are abandoned and reported.
 *
 * USDⓈ-M futures: the paths are `/fapi/v1/…`; `historicalTrades` needs an API key (sent as `X-MBX-APIKEY`, and
 * nowhere else); without one, gaps heal from the public recent `trades`. Futures REST lists only order-book trades,
 * so its ids skip the off-book ones: see {@link planListedHeal}.
 */
import { type Market, marketProfile } from "../market.ts";
import type { RestTrade } from "./envelope.ts";
import type { Gap } from "./gap_tracker.ts";

/** Which market's REST paths to use, and the API key `historicalTrades` needs on futures. */
export interface RestAccess {
  /** Default: spot. */
  market?: Market;
  /** Sent as `X-MBX-APIKEY`, to `historicalTrades` only. Never logged. */
  apiKey?: string | undefined;
}

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
  access: RestAccess = {},
): Promise<RestTrade[]> {
  const url = new URL(marketProfile(access.market ?? "spot").rest.historicalTrades, restUrl);
  url.search = new URLSearchParams({ symbol, fromId: String(fromId), limit: String(limit) }).toString();
  const headers = access.apiKey === undefined ? undefined : { "X-MBX-APIKEY": access.apiKey };
  return await getTrades(url, `historicalTrades ${symbol} fromId=${fromId}`, fetchImpl, headers);
}

/** The most recent `limit` trades of `symbol` (REST `trades`, public), ascending. */
export async function fetchRecentTrades(
  restUrl: URL,
  symbol: string,
  limit: number,
  fetchImpl: typeof fetch = fetch,
  access: RestAccess = {},
): Promise<RestTrade[]> {
  const url = new URL(marketProfile(access.market ?? "spot").rest.recentTrades, restUrl);
  url.search = new URLSearchParams({ symbol, limit: String(limit) }).toString();
  return await getTrades(url, `trades ${symbol}`, fetchImpl);
}

/** The id of the most recent trade of `symbol` (REST `trades?limit=1`), or undefined when it has none. */
export async function fetchLatestTradeId(
  restUrl: URL,
  symbol: string,
  fetchImpl: typeof fetch = fetch,
  access: RestAccess = {},
): Promise<number | undefined> {
  return (await fetchRecentTrades(restUrl, symbol, 1, fetchImpl, access)).at(-1)?.id;
}

async function getTrades(
  url: URL,
  what: string,
  fetchImpl: typeof fetch,
  extraHeaders: Record<string, string> = {},
): Promise<RestTrade[]> {
  const response = await fetchImpl(url, {
    headers: { accept: "application/json", ...extraHeaders },
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

/** What a futures REST answer settles about a gap. */
export interface ListedHealPlan {
  /** Trades inside the gap, each with the id the source listed just before it (when known). */
  trades: { row: RestTrade; sourcePrevId?: number }[];
  /** Ranges inside the gap the source skipped while listing past them: confirmed absent at the source. */
  absent: { from: number; to: number }[];
  /**
   * The first trade listed past the gap when ids at the gap's top were absent: the stream already delivered it, but
   * only this copy can say (by its `sourcePrevId`) that the ids below it do not exist, which is what lets the lake
   * tell the absence from a gap. Published as a backfill copy; staging keeps the live one and this proof.
   */
  proofs: { row: RestTrade; sourcePrevId: number }[];
  /** The part of the gap older than a recent-trades answer reaches back to: it proves nothing about those ids. */
  older?: Gap;
}

/**
 * The gap rule on a REST answer that lists every trade the source has from some id on: ids it skips between two
 * listed trades do not exist there (USDⓈ-M futures REST omits off-book trades), so they close the gap as absent;
 * ids past its last trade stay missing. Pure.
 *
 * @param fromId the answer's `fromId` (historicalTrades): the source lists every trade from it on, so its first
 *   trade's predecessor is `fromId - 1`. Undefined for a recent-trades answer: it is complete only from its first
 *   trade on, whose predecessor is unknown, and anything older in the gap is returned as `older`.
 */
export function planListedHeal(gap: Gap, rows: RestTrade[], fromId?: number): ListedHealPlan {
  const sorted = [...new Map(rows.map((row) => [row.id, row])).values()].sort((a, b) => a.id - b.id);
  const plan: ListedHealPlan = { trades: [], absent: [], proofs: [] };
  const first = sorted[0];
  if (first === undefined) return plan; // an empty answer proves nothing: try again later
  const listedFrom = fromId ?? first.id;
  let previous = fromId === undefined ? undefined : fromId - 1;
  for (const row of sorted) {
    if (row.id < listedFrom) continue;
    if (previous !== undefined) {
      const from = Math.max(previous + 1, gap.from);
      const to = Math.min(row.id - 1, gap.to);
      if (from <= to) {
        plan.absent.push({ from, to });
        // Only the trade right above the gap bounds it (one further up means that one is off-book too: no proof).
        if (row.id === gap.to + 1) plan.proofs.push({ row, sourcePrevId: previous });
      }
    }
    if (row.id >= gap.from && row.id <= gap.to) {
      plan.trades.push(previous === undefined ? { row } : { row, sourcePrevId: previous });
    }
    previous = row.id;
    if (row.id > gap.to) break; // nothing past the first trade above the gap says anything about it
  }
  if (listedFrom > gap.from) {
    plan.older = { from: gap.from, to: Math.min(gap.to, listedFrom - 1), firstSeenMs: gap.firstSeenMs };
  }
  return plan;
}
