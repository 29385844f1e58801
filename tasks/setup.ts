/**
 * `deno task setup`: installs what the pipeline needs beyond Deno's own packages, idempotently.
 *
 * The Apache Kafka jars (Maven Central → .cache/kafka-*) and the project's Python environment (PyPI →
 * .cache/python-venv). Permissions: run mvn, python3 and the venv's python; read docker/ and .cache; write .cache.
 */
import { runTask } from "./lib/cli.ts";
import { ensureKafkaJars } from "./lib/kafka/jars.ts";
import { ensurePythonEnv } from "./lib/python_env.ts";

async function main(): Promise<void> {
  const libDir = await ensureKafkaJars();
  console.log(`Kafka jars: ${libDir}`);
  console.log(`Python: ${await ensurePythonEnv()}`);
}

if (import.meta.main) runTask("setup", main);
