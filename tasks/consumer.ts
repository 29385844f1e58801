/**
 * `deno task consumer`: writes every trade of MARKET's topic (spot: crypto.trades.v1) into that market's Parquet
 * dataset exactly once (spot: LAKE_DIR/pair=/trade_date=/hour=; usdm: LAKE_DIR/_usdm/pair=/…), undecodable records
 * into the market's DLQ topic. Stops cleanly on SIGINT/SIGTERM. Serves Prometheus metrics on
 * 127.0.0.1:CONSUMER_METRICS_PORT (unset: the market's default port, so two consumers run side by side); logs as
 * LOG_FORMAT says.
 *
 * Permissions: net to the brokers (and loopback, for /metrics); read/write LAKE_DIR (data/parquet); read tasks/lib,
 * whose modules the lake worker thread loads; FFI for DuckDB, which is confined to LAKE_DIR.
 */
import { explainKafkaFailure } from "./lib/kafka/failures.ts";
import { loadKafkaConfig, loadMarket, loadMetricsPort, loadStorageConfig } from "./lib/config.ts";
import { marketLakeDir, marketProfile } from "./lib/market.ts";
import { runTask, shutdownSignal } from "./lib/cli.ts";
import { runConsumer } from "./lib/lake/consumer.ts";
import { createLogger } from "./lib/log.ts";
import { createConsumerMetrics, startMetricsEndpoint } from "./lib/metrics.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { resolve } from "node:path";

async function main(): Promise<number> {
  const kafka = loadKafkaConfig(Deno.env);
  const { lakeDir } = loadStorageConfig(Deno.env);
  const market = loadMarket(Deno.env);
  const profile = marketProfile(market);
  const metricsPort = Deno.env.get("CONSUMER_METRICS_PORT")?.trim()
    ? loadMetricsPort(Deno.env, "CONSUMER_METRICS_PORT")
    : profile.defaultConsumerMetricsPort;
  const logger = createLogger("consumer");
  const signal = shutdownSignal();

  const brokers = kafka.brokers.map((b) => `${b.host}:${b.port}`).join(",");
  logger.info(`consumer: ${profile.tradesTopic} from ${brokers} to ${marketLakeDir(lakeDir, market)}`);
  const metrics = createConsumerMetrics();
  await using _endpoint = startMetricsEndpoint(metrics.registry, metricsPort, {
    log: logger,
    setting: "CONSUMER_METRICS_PORT",
  });
  const log = (line: string, level?: "warn" | "error") => logger[level ?? "info"](line);
  const need = {
    brokers: kafka.brokers,
    security: kafka.security,
    topic: { name: profile.tradesTopic, operation: "Read" as const },
    group: profile.consumerGroup,
  };
  let summary;
  try {
    summary = await runConsumer(
      { kafka, lakeDir: resolve(PROJECT_ROOT, lakeDir), market, metrics, log },
      signal,
    );
  } catch (error) {
    throw await explainKafkaFailure(error, need) ?? error;
  }
  console.log(JSON.stringify({ event: "consumer_summary", ...summary }));
  return summary.unwrittenPartitions.length > 0 ? 1 : 0;
}

if (import.meta.main) runTask("consumer", main);
