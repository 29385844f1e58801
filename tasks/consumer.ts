/**
 * `deno task consumer`: writes every trade of crypto.trades.v1 into the Parquet lake exactly once
 * (LAKE_DIR/pair=/trade_date=/hour=), undecodable records into crypto.trades.dlq.v1. Stops cleanly on SIGINT/SIGTERM.
 *
 * Permissions: net to the brokers; read/write LAKE_DIR (data/parquet); FFI for DuckDB, which is confined to LAKE_DIR.
 */
import { loadKafkaConfig, loadStorageConfig } from "./lib/config.ts";
import { runTask, shutdownSignal } from "./lib/cli.ts";
import { runConsumer } from "./lib/lake/consumer.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { resolve } from "node:path";

async function main(): Promise<number> {
  const kafka = loadKafkaConfig(Deno.env);
  const { lakeDir } = loadStorageConfig(Deno.env);
  const signal = shutdownSignal();

  console.log(
    `consumer: crypto.trades.v1 from ${kafka.brokers.map((b) => `${b.host}:${b.port}`).join(",")} to ${lakeDir}`,
  );
  const summary = await runConsumer({ kafka, lakeDir: resolve(PROJECT_ROOT, lakeDir) }, signal);
  console.log(JSON.stringify({ event: "consumer_summary", ...summary }));
  return summary.unwrittenPartitions.length > 0 ? 1 : 0;
}

if (import.meta.main) runTask("consumer", main);
