/**
 * The exchange side of kline reconciliation: one `GET /api/v3/klines` (spot) or `GET /fapi/v1/klines` (usdm) per
 * planned request, parsed exactly. Both answer the same 12-field arrays. It is the
 * only module of the reconciliation that talks to the network, and it takes its `fetch` as an argument.
 */
import { RateLimitedError, refuseIfRateLimited } from "../ingest/backfill.ts";
import { type MinuteValues, parseKline } from "./kline_compare.ts";
import { type KlinesRequest, klinesUrl } from "./kline_plan.ts";
import type { Market } from "../market.ts";

export { RateLimitedError };

/** The exchange could not be reached or answered something unusable. */
export class KlinesFetchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KlinesFetchError";
  }
}

/**
 * Fetches one klines request, keyed by open time.
 *
 * @throws {RateLimitedError} On 429 or 418, with the `Retry-After` the exchange asks (as the producer's backfill).
 * @throws {KlinesFetchError} On a network failure, another error status or a malformed answer.
 */
export async function fetchKlines(
  restUrl: URL,
  request: KlinesRequest,
  fetchImpl: typeof fetch = fetch,
  market: Market = "spot",
): Promise<Map<number, MinuteValues>> {
  const url = klinesUrl(restUrl, request, market);
  const what = `klines ${request.pair} from ${new Date(request.firstMinuteMs).toISOString()}`;
  let response: Response;
  try {
    response = await fetchImpl(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new KlinesFetchError(`Cannot fetch ${what}: ${(error as Error).message}`, { cause: error });
  }
  await refuseIfRateLimited(response);
  if (!response.ok) {
    throw new KlinesFetchError(
      `Cannot fetch ${what}: answered ${response.status} ${(await response.text()).slice(0, 200)}`,
    );
  }
  try {
    const body: unknown = await response.json();
    if (!Array.isArray(body)) throw new TypeError("Cannot parse klines: expected a list");
    return new Map(body.map(parseKline).map((kline) => [kline.openTimeMs, kline.values]));
  } catch (error) {
    throw new KlinesFetchError(`Cannot use ${what}: ${(error as Error).message}`, { cause: error });
  }
}
