/**
 * `deno task compact [--grace-minutes N] [--dry-run]`: merges the small files of every closed hour partition of the
 * lake into one, so readers scan a few large files instead of thousands of small ones. Only files the consumer has
 * committed are merged, so it runs safely beside a live consumer; re-running is a no-op. MARKET says which market's
 * dataset (spot at LAKE_DIR, usdm at LAKE_DIR/_usdm) and consumer group.
 *
 * Permissions: net to the brokers (to read the consumer group's committed offsets); read/write LAKE_DIR
 * (data/parquet); FFI for DuckDB, which is confined to LAKE_DIR.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { loadKafkaConfig, loadMarket, loadStorageConfig } from "./lib/config.ts";
import { runTask, TaskError, wholeNumberFlag } from "./lib/cli.ts";
import { createKafka } from "./lib/kafka/client.ts";
import { compactLake } from "./lib/lake/maintenance/compaction.ts";
import { committedLakeOffsets } from "./lib/lake/consumer.ts";
import { marketLakeDir } from "./lib/market.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "grace-minutes": { type: "string", default: "10" }, "dry-run": { type: "boolean", default: false } },
  });
  const graceMinutes = wholeNumberFlag("grace-minutes", values["grace-minutes"], 0, 7 * 24 * 60);
  const kafka = loadKafkaConfig(Deno.env);
  const market = loadMarket(Deno.env);
  const lakeDir = marketLakeDir(resolve(PROJECT_ROOT, loadStorageConfig(Deno.env).lakeDir), market);

  // What the consumer has committed decides which files are final; ask the group, not the files.
  const admin = createKafka(kafka.brokers, {
    clientId: "crypto-compact",
    retry: { retries: 3 },
    quiet: true,
    security: kafka.security,
  }).admin();
  let committed: Map<number, bigint>;
  try {
    await admin.connect();
    committed = await committedLakeOffsets(admin, market);
  } catch (error) {
    const brokers = kafka.brokers.map((b) => `${b.host}:${b.port}`).join(",");
    throw new TaskError(
      `Cannot read the lake consumer's committed offsets from ${brokers}: is Kafka running? (deno task kafka start)`,
      { cause: error },
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }

  const started = performance.now();
  const summary = await compactLake({
    lakeDir,
    committed,
    nowMs: Date.now(),
    graceMs: graceMinutes * 60_000,
    dryRun: values["dry-run"],
    log: (line) => console.log(line),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const verb = values["dry-run"] ? "would merge" : "merged";
  console.log(
    `compact: ${verb} ${summary.filesMerged} files in ${summary.hoursCompacted} of ${summary.hoursChecked} hour ` +
      `partitions (${summary.hoursOpen} still open, ${summary.uncommittedFiles} uncommitted files left) in ${seconds} s`,
  );
  console.log(JSON.stringify({ event: "compact_summary", ...summary }));
}

if (import.meta.main) runTask("compact", main);
