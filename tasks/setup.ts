/**
 * `deno task setup`: installs what the pipeline needs beyond Deno's own packages, idempotently.
 *
 * Today that is the Apache Kafka jars (Maven Central → .cache/). Permissions: run mvn; read and write .cache.
 */
import { runTask } from "./lib/cli.ts";
import { ensureKafkaJars } from "./lib/kafka/jars.ts";

async function main(): Promise<void> {
  const libDir = await ensureKafkaJars();
  console.log(`Kafka jars: ${libDir}`);
}

if (import.meta.main) runTask("setup", main);
