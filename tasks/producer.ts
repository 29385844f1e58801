/**
 * `deno task producer`: captures every trade of SYMBOLS from the exchange into crypto.trades.v1, bad events into
 * crypto.trades.dlq.v1, healing trade-id gaps from REST. Stops cleanly on SIGINT/SIGTERM.
 *
 * Permissions: net to the exchange hosts and the brokers; read/write only the state folder (data/producer).
 */
import { loadExchangeConfig, loadKafkaConfig, loadProducerConfig } from "./lib/config.ts";
import { runTask, shutdownSignal } from "./lib/cli.ts";
import { runProducer } from "./lib/ingest/producer.ts";

async function main(): Promise<number> {
  const exchange = loadExchangeConfig(Deno.env);
  const kafka = loadKafkaConfig(Deno.env);
  const producer = loadProducerConfig(Deno.env);
  const signal = shutdownSignal();

  console.log(
    `producer: ${exchange.symbols.join(",")} from ${exchange.wsUrl.host} to ${
      kafka.brokers.map((b) => `${b.host}:${b.port}`).join(",")
    }`,
  );
  const summary = await runProducer({ exchange, kafka, producer }, signal);
  console.log(JSON.stringify({ event: "producer_summary", ...summary }));
  return summary.undelivered > 0 ? 1 : 0;
}

if (import.meta.main) runTask("producer", main);
