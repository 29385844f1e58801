/**
 * `deno task setup`: installs what the pipeline needs beyond Deno's own packages, idempotently.
 *
 * The Apache Kafka jars (Maven Central → .cache/kafka-*), the project's Python environment with Jupyter (PyPI →
 * .cache/python-venv), the Deno Jupyter kernelspec (.cache/jupyter) and Debian's Chromium for the report's browser
 * test (apt-get, only when /usr/bin/chromium is missing, and only as root).
 * Permissions: run mvn, python3, the venv's python and apt-get; read docker/, .cache and /usr/bin/chromium; write
 * .cache; read the user id (root may install Chromium).
 */
import { runTask } from "./lib/cli.ts";
import { ensureKafkaJars } from "./lib/kafka/jars.ts";
import { ensureChromium } from "./lib/notebooks/chromium.ts";
import { ensureDenoKernelspec } from "./lib/notebooks/jupyter.ts";
import { ensurePythonEnv } from "./lib/python_env.ts";

async function main(): Promise<void> {
  const libDir = await ensureKafkaJars();
  console.log(`Kafka jars: ${libDir}`);
  console.log(`Python: ${await ensurePythonEnv()}`);
  console.log(`Deno Jupyter kernel: ${await ensureDenoKernelspec()}`);
  console.log(`Chromium: ${await ensureChromium()}`);
}

if (import.meta.main) runTask("setup", main);
