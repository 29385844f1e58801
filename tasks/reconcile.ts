/**
 * `deno task reconcile [--max-minutes N] [--settle-seconds S] [--max-checks N] [--fail-on-mismatch]`: checks our
 * 1-minute candles of MARKET (spot by default, or usdm) against the exchange's own 1-minute klines of that market
 * (BINANCE_REST_URL, by default the market's REST host: spot /api/v3/klines, usdm /fapi/v1/klines) and records one
 * verdict per market, pair and minute in marts.fct_kline_reconciliation, under the refresh's lock and with its
 * atomic publish.
 *
 * Exit codes: 0 checked, whatever the verdicts (they are data, recorded in the mart), and also when a refresh or
 * reconcile is running or nothing is built yet; 1 with --fail-on-mismatch when this run found a minute that does
 * not match (for a scheduler that alerts on exit codes), or when the exchange cannot be reached (nothing recorded);
 * 2 bad input.
 *
 * Permissions: net to the exchange; read and write the database folder; FFI for DuckDB, confined to that folder.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { loadMarket, loadStorageConfig, parseUrl } from "./lib/config.ts";
import { type Market, marketProfile } from "./lib/market.ts";
import { runTask, TaskError, wholeNumberFlag } from "./lib/cli.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { updatePublishedDatabase } from "./lib/warehouse/builder.ts";
import { KlinesFetchError } from "./lib/warehouse/klines_client.ts";
import { formatReport, reconcileCandles } from "./lib/warehouse/reconcile.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "max-minutes": { type: "string", default: "10000" },
      "settle-seconds": { type: "string", default: "60" },
      "max-checks": { type: "string", default: "3" },
      "fail-on-mismatch": { type: "boolean", default: false },
    },
  });
  const maxMinutes = wholeNumberFlag("max-minutes", values["max-minutes"], 1, 1_000_000);
  const settleSeconds = wholeNumberFlag("settle-seconds", values["settle-seconds"], 0, 86_400);
  const maxChecks = wholeNumberFlag("max-checks", values["max-checks"], 1, 100);
  const market = loadMarket(Deno.env);
  const restUrl = reconcileRestUrl(Deno.env.get("BINANCE_REST_URL"), market);
  const duckdbPath = resolve(PROJECT_ROOT, loadStorageConfig(Deno.env).duckdbPath);

  let outcome;
  try {
    // Fetching inside the update keeps one snapshot: the verdicts are written against the candles they compared.
    outcome = await updatePublishedDatabase(
      duckdbPath,
      (connection) =>
        reconcileCandles(connection, { market, restUrl, nowMs: Date.now(), settleSeconds, maxMinutes, maxChecks }),
    );
  } catch (error) {
    if (!(error instanceof KlinesFetchError)) throw error;
    throw new TaskError(`Cannot check klines at BINANCE_REST_URL=${restUrl}: nothing was recorded`, { cause: error });
  }
  if (outcome.status === "locked") {
    console.log(`reconcile: a refresh or reconcile is running (${duckdbPath}.lock); leaving it to finish`);
    return 0;
  }
  if (outcome.status === "missing" || outcome.value.status === "not_built") {
    console.log(`reconcile: no candles at ${duckdbPath} yet; run deno task refresh first`);
    return 0;
  }
  const report = outcome.value;
  console.log(formatReport(report));
  return values["fail-on-mismatch"] && report.results.some((result) => result.status !== "match") ? 1 : 0;
}

/** BINANCE_REST_URL when set, else `market`'s own REST host (the klines of one market are not the other's). */
export function reconcileRestUrl(value: string | undefined, market: Market): URL {
  const set = value?.trim();
  if (set === undefined || set === "") return new URL(marketProfile(market).restUrl);
  return parseUrl("BINANCE_REST_URL", set, ["http:", "https:"]);
}

if (import.meta.main) runTask("reconcile", main);
