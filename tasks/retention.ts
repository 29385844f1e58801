/**
 * `deno task retention --days N [--dry-run]`: removes lake partitions whose trade date is more than N days old, and
 * DLQ folders (`_dlq/received_date=…`) received more than N days ago, and says what it removed (or, with --dry-run,
 * what it would remove), in every market's dataset (spot at LAKE_DIR, USDⓈ-M futures at LAKE_DIR/_usdm).
 *
 * Permissions: read and write LAKE_DIR (data/parquet) only; no network.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { loadStorageConfig } from "./lib/config.ts";
import { runTask, UsageError } from "./lib/cli.ts";
import { datePartitions, dlqDatePartitions, folderSize } from "./lib/lake/storage/listing.ts";
import { withLakeLock } from "./lib/lake/storage/lake_lock.ts";
import { expiredDates } from "./lib/lake/maintenance/retention.ts";
import { marketLakeDir, MARKETS } from "./lib/market.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";

const USAGE = "usage: deno task retention --days N [--dry-run]";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { days: { type: "string" }, "dry-run": { type: "boolean", default: false } },
  });
  if (values.days === undefined) throw new UsageError(`Missing --days: ${USAGE}`);
  const days = /^\d{1,5}$/.test(values.days) ? Number(values.days) : NaN;
  if (!(days >= 1)) {
    throw new UsageError(`Cannot keep --days "${values.days}": expected a whole number of days above 0`);
  }
  const dryRun = values["dry-run"];
  const lakeDir = resolve(PROJECT_ROOT, loadStorageConfig(Deno.env).lakeDir);

  const today = new Date().toISOString().slice(0, 10);
  const dated: { date: string; path: string; datasetDir: string }[] = [];
  for (const datasetDir of MARKETS.map((market) => marketLakeDir(lakeDir, market))) {
    dated.push(
      ...(await datePartitions(datasetDir)).map((p) => ({ date: p.tradeDate, path: p.path, datasetDir })),
      ...(await dlqDatePartitions(datasetDir)).map((p) => ({ date: p.receivedDate, path: p.path, datasetDir })),
    );
  }
  const expired = new Set(expiredDates(dated.map((p) => p.date), today, days));
  let files = 0;
  let bytes = 0;
  for (const partition of dated.filter((p) => expired.has(p.date))) {
    const size = await folderSize(partition.path);
    files += size.files;
    bytes += size.bytes;
    // Exclusively locked, so a reader holding the lake lock sees a day entirely or not at all.
    if (!dryRun) {
      await withLakeLock(partition.datasetDir, "exclusive", () => Deno.remove(partition.path, { recursive: true }));
    }
    console.log(`${dryRun ? "would remove" : "removed"} ${partition.path} (${size.files} files, ${size.bytes} bytes)`);
  }
  const verb = dryRun ? "would remove" : "removed";
  console.log(
    `retention: ${verb} ${files} files (${(bytes / 2 ** 20).toFixed(1)} MiB) older than ${days} days in ${lakeDir}`,
  );
}

if (import.meta.main) runTask("retention", main);
