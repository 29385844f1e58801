/**
 * `deno task producer`: captures every trade of SYMBOLS on MARKET (spot, or usdm for USDⓈ-M futures) from the
 * exchange into the market's trades topic (crypto.trades.v1 on spot), bad events into its DLQ topic, healing
 * trade-id gaps from REST. Stops cleanly on SIGINT/SIGTERM. Serves Prometheus metrics on
 * 127.0.0.1:PRODUCER_METRICS_PORT; logs as LOG_FORMAT says.
 *
 * Permissions: net to both markets' exchange hosts and the brokers (and loopback, for /metrics); read/write only the
 * state folder (data/producer), and read data/secrets for a usdm API key file.
 */
import { explainKafkaFailure } from "./lib/kafka/failures.ts";
import { marketProfile } from "./lib/market.ts";
import { loadApiKey, loadExchangeConfig, loadKafkaConfig, loadMetricsPort, loadProducerConfig } from "./lib/config.ts";
import { runTask, shutdownSignal } from "./lib/cli.ts";
import { runProducer } from "./lib/ingest/producer.ts";
import { createLogger } from "./lib/log.ts";
import { createProducerMetrics, startMetricsEndpoint } from "./lib/metrics.ts";

async function main(): Promise<number> {
  const exchange = loadExchangeConfig(Deno.env);
  const kafka = loadKafkaConfig(Deno.env);
  const producer = loadProducerConfig(Deno.env);
  const metricsPort = loadMetricsPort(Deno.env, "PRODUCER_METRICS_PORT", exchange.market);
  // Spot never needs a key, and never reads the key's variables or file.
  const apiKey = exchange.market === "usdm" ? loadApiKey(Deno.env) : undefined;
  const logger = createLogger("producer");
  const topic = marketProfile(exchange.market).tradesTopic;
  const signal = shutdownSignal();

  logger.info(
    `producer: ${exchange.market === "spot" ? "" : `${exchange.market} `}${
      exchange.symbols.join(",")
    } from ${exchange.wsUrl.host} to ${kafka.brokers.map((b) => `${b.host}:${b.port}`).join(",")}`,
  );
  const metrics = createProducerMetrics();
  await using _endpoint = startMetricsEndpoint(metrics.registry, metricsPort, {
    log: logger,
    setting: "PRODUCER_METRICS_PORT",
  });
  const log = (line: string, level?: "warn" | "error") => logger[level ?? "info"](line);
  const need = {
    brokers: kafka.brokers,
    security: kafka.security,
    topic: { name: topic, operation: "Write" as const },
  };
  let summary;
  try {
    summary = await runProducer({ exchange, kafka, producer, apiKey, metrics, log }, signal);
  } catch (error) {
    throw await explainKafkaFailure(error, need) ?? error;
  }
  const { refused, ...shown } = summary;
  console.log(JSON.stringify({ event: "producer_summary", ...shown }));
  if (refused) throw await explainKafkaFailure(refused, need) ?? refused;
  return summary.undelivered > 0 ? 1 : 0;
}

if (import.meta.main) runTask("producer", main);
