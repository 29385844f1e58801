/**
 * Resolves the Apache Kafka jars from Maven Central into `.cache/kafka-<version>/lib`, once.
 *
 * Maven copies into a fresh folder that is renamed into place only when complete, so an interrupted
 * download is retried on the next run instead of leaving a half-filled classpath behind.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { TaskError } from "../cli.ts";
import { CACHE_DIR, PROJECT_ROOT } from "../paths.ts";

/** The broker and tools version, kept equal to the `<kafka.version>` in docker/kafka/pom.xml. */
export const KAFKA_VERSION = "4.3.1";

/** The pom that names the jars. */
export const KAFKA_POM = join(PROJECT_ROOT, "docker", "kafka", "pom.xml");

/** The classpath folder of the pinned Kafka version. */
export const KAFKA_LIB_DIR = join(CACHE_DIR, `kafka-${KAFKA_VERSION}`, "lib");

/** Returns the classpath folder, running Maven first when the jars are missing. */
export async function ensureKafkaJars(log: (line: string) => void = console.log): Promise<string> {
  const complete = join(KAFKA_LIB_DIR, ".complete");
  if (existsSync(complete)) return KAFKA_LIB_DIR;

  log(`Resolving Apache Kafka ${KAFKA_VERSION} jars from Maven Central (once) …`);
  const staging = `${KAFKA_LIB_DIR}.partial`;
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  const started = performance.now();
  const maven = await runMaven([
    "-B",
    "-q",
    "-f",
    KAFKA_POM,
    "dependency:copy-dependencies",
    `-DoutputDirectory=${staging}`,
    "-DincludeScope=runtime",
  ]);
  if (!maven.success) {
    throw new TaskError(`Cannot resolve the Kafka jars: mvn exited with code ${maven.code}\n${maven.output.trim()}`);
  }
  const jars = [...Deno.readDirSync(staging)].filter((entry) => entry.name.endsWith(".jar")).length;
  await Deno.writeTextFile(join(staging, ".complete"), `kafka ${KAFKA_VERSION}, ${jars} jars\n`);
  await Deno.remove(KAFKA_LIB_DIR, { recursive: true }).catch(() => {});
  await Deno.rename(staging, KAFKA_LIB_DIR);
  log(`Resolved ${jars} jars into ${KAFKA_LIB_DIR} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return KAFKA_LIB_DIR;
}

async function runMaven(args: string[]) {
  try {
    const { success, code, stdout, stderr } = await new Deno.Command("mvn", { args, stdin: "null" }).output();
    const decoder = new TextDecoder();
    return { success, code, output: decoder.decode(stdout) + decoder.decode(stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TaskError(
        "Cannot resolve the Kafka jars: mvn is not on PATH; install Maven 3 (e.g. apt-get install maven)",
      );
    }
    throw error;
  }
}
