import assert from "node:assert/strict";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  compactedFileName,
  compactLake,
  isHourClosed,
  planHour,
} from "../../../../../tasks/lib/lake/maintenance/compaction.ts";
import type { LakeRow } from "../../../../../tasks/lib/lake/decoding/decode.ts";
import { withLakeLock } from "../../../../../tasks/lib/lake/storage/lake_lock.ts";
import { fileNames, hourPartitions } from "../../../../../tasks/lib/lake/storage/listing.ts";
import { LakeWriter } from "../../../../../tasks/lib/lake/writing/parquet_writer.ts";
import { hivePartitionOf, lakeFileName } from "../../../../../tasks/lib/lake/storage/partition.ts";
import { makeTestDir } from "../../../../helpers/tasks.ts";
import { readLakeFileIds } from "../../../../../tasks/lib/warehouse/single_copy.ts";

const part = (partition: number, offset: number) => lakeFileName(partition, BigInt(offset));

Deno.test("isHourClosed() waits for the end of the hour plus the grace period", () => {
  const end = Date.UTC(2025, 2, 1, 11);
  assert.equal(isHourClosed("2025-03-01", 10, end - 1, 0), false);
  assert.equal(isHourClosed("2025-03-01", 10, end, 0), true);
  assert.equal(isHourClosed("2025-03-01", 10, end + 599_999, 600_000), false);
  assert.equal(isHourClosed("2025-03-01", 10, end + 600_000, 600_000), true);
  assert.equal(isHourClosed("2025-03-01", 23, Date.UTC(2025, 2, 2, 0), 0), true);
  assert.equal(isHourClosed("not-a-date", 1, Date.now(), 0), false);
});

Deno.test("planHour() merges committed part files and earlier merges, and leaves uncommitted files", () => {
  const committed = new Map([[0, 300n], [1, 50n]]);
  const earlier = compactedFileName(["x"]);
  const files = [part(0, 0), part(0, 100), part(0, 300), part(1, 10), part(2, 0), earlier, "_lake.lock", ".tmp"];
  const plan = planHour(files, committed);
  assert.deepEqual(plan?.inputs, [part(0, 0), part(0, 100), part(1, 10), earlier]);
  assert.deepEqual(plan?.uncommitted, [part(0, 300), part(2, 0)]);
  assert.equal(plan?.output, compactedFileName(plan!.inputs));
  assert.notEqual(plan?.output, earlier);
});

Deno.test("planHour() leaves an hour that is already one file alone", () => {
  const committed = new Map([[0, 1000n]]);
  assert.equal(planHour([compactedFileName(["a", "b"])], committed), undefined);
  assert.equal(planHour([part(0, 0)], committed), undefined);
  assert.equal(planHour([compactedFileName(["a"]), part(0, 2000)], committed), undefined, "the other is uncommitted");
  assert.equal(planHour([], committed), undefined);
});

Deno.test("compactedFileName() depends on the set of inputs, not their order", () => {
  assert.equal(compactedFileName(["b", "a"]), compactedFileName(["a", "b"]));
  assert.notEqual(compactedFileName(["a", "b"]), compactedFileName(["a", "c"]));
  assert.match(compactedFileName(["a"]), /^compact-[0-9a-f]{16}\.parquet$/);
});

// 2025-03-01 10:00 to 11:59 UTC: two closed hours, written in many small flushes like a live consumer's.
const HOUR_MS = 3_600_000;
const START_MS = Date.UTC(2025, 2, 1, 10);

/** Trades at offsets `firstOffset`… of `total`, whose times spread evenly over the two hours. */
function trades(symbol: string, kafkaPartition: number, firstOffset: number, count: number, total: number): LakeRow[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = firstOffset + i;
    const tradeTimeUs = (START_MS + Math.floor((offset * 2 * HOUR_MS) / total)) * 1000;
    return {
      partition: hivePartitionOf(symbol, tradeTimeUs),
      tradeId: offset + 1,
      price: `${60000 + (offset % 997)}.${String(offset % 100).padStart(2, "0")}000001`,
      quantity: `0.${String(offset % 9973).padStart(8, "0")}`,
      tradeTimeUs,
      eventTimeUs: tradeTimeUs + 3000,
      timeUnit: "ms",
      isBuyerMaker: offset % 3 === 0,
      isBestMatch: true,
      ingestedAtMs: tradeTimeUs / 1000 + 40,
      isBackfilled: false,
      // The producer was upgraded half-way: later files carry the v2 envelope's producer_id column.
      schemaVersion: offset < total / 2 ? 1 : 2,
      producerId: offset < total / 2 ? null : "producer-a",
      kafkaPartition,
      kafkaOffset: BigInt(offset),
    };
  });
}

async function writeFlushes(writer: LakeWriter, symbol: string, kafkaPartition: number, total: number, size: number) {
  for (let offset = 0; offset < total; offset += size) {
    const rows = trades(symbol, kafkaPartition, offset, Math.min(size, total - offset), total);
    await writer.write(rows, kafkaPartition, BigInt(offset), START_MS);
  }
}

/** The lake's row set as one fingerprint, read under the shared lake lock as the mart builder does. */
async function fingerprint(instance: DuckDBInstance, lakeDir: string): Promise<string> {
  return await withLakeLock(lakeDir, "shared", async () => {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(
        `select count(*) || ' rows ' || md5(string_agg(
           concat_ws('|', pair, trade_date, hour, trade_id, price, quantity, trade_time, producer_id, kafka_offset),
           ',' order by pair, trade_id)) as print
         from read_parquet('${lakeDir}/**/*.parquet', hive_partitioning = true, union_by_name = true)`,
      );
      return String(reader.getRows()[0]![0]);
    } finally {
      connection.closeSync();
    }
  });
}

Deno.test("compactLake() merges closed hours while readers keep seeing every row exactly once", async () => {
  const lakeDir = await makeTestDir("compaction");
  const writer = await LakeWriter.open(lakeDir);
  const reader = await DuckDBInstance.create(":memory:", { threads: "1" });
  try {
    await writeFlushes(writer, "BTCUSDT", 0, 20_000, 250);
    await writeFlushes(writer, "ETHUSDT", 1, 20_000, 400);
    const committed = new Map([[0, 20_000n], [1, 19_600n]]); // ETHUSDT's last flush is not committed yet
    const before = await fingerprint(reader, lakeDir);
    assert.match(before, /^40000 rows /);
    const filesBefore = await filesPerHour(lakeDir);

    // Readers run back to back for as long as compaction runs; every read must see the same rows.
    let compacting = true;
    const reads: string[] = [];
    const readLoop = (async () => {
      while (compacting) reads.push(await fingerprint(reader, lakeDir).catch((error) => `error: ${error.message}`));
    })();
    const lines: string[] = [];
    const summary = await compactLake({
      lakeDir,
      committed,
      nowMs: START_MS + 3 * HOUR_MS,
      graceMs: 10 * 60_000,
      log: (line) => lines.push(line),
    });
    compacting = false;
    await readLoop;

    assert.ok(reads.length >= 3, `only ${reads.length} reads overlapped the compaction`);
    assert.deepEqual(new Set(reads), new Set([before]));
    assert.equal(await fingerprint(reader, lakeDir), before);
    assert.equal(summary.hoursCompacted, 4);
    assert.equal(summary.rows + 400, 40_000, "all but the uncommitted flush were merged");
    assert.equal(summary.duplicatesDropped, 0);
    assert.equal(summary.uncommittedFiles, 1);
    assert.equal(lines.length, 4);

    const filesAfter = await filesPerHour(lakeDir);
    assert.ok(Object.values(filesBefore).every((n) => n.length > 20), JSON.stringify(filesBefore));
    assert.deepEqual(filesAfter, {
      "BTCUSDT/10": ["compact"],
      "BTCUSDT/11": ["compact"],
      "ETHUSDT/10": ["compact"],
      "ETHUSDT/11": ["compact", part(1, 19_600)],
    });

    // Every merged file still promises unique trade ids, so the mart builder need not deduplicate it.
    const connection = await reader.connect();
    const facts = await readLakeFileIds(connection, [
      `${await Deno.realPath(lakeDir)}/pair=*/trade_date=*/hour=*/*.parquet`,
    ]);
    connection.closeSync();
    assert.equal(facts.length, 5);
    assert.ok(facts.every((file) => file.uniqueIds), JSON.stringify(facts));

    // Nothing left to do: a second run changes nothing.
    const again = await compactLake({ lakeDir, committed, nowMs: START_MS + 3 * HOUR_MS, graceMs: 0 });
    assert.equal(again.hoursCompacted, 0);
    assert.deepEqual(await filesPerHour(lakeDir), filesAfter);
  } finally {
    writer.close();
    reader.closeSync();
    await Deno.remove(lakeDir, { recursive: true });
  }
});

Deno.test("compactLake() leaves open hours alone and merges files rewritten after a replay exactly once", async () => {
  const lakeDir = await makeTestDir("compaction");
  const writer = await LakeWriter.open(lakeDir);
  const reader = await DuckDBInstance.create(":memory:", { threads: "1" });
  try {
    await writeFlushes(writer, "BTCUSDT", 0, 4_000, 500);
    const committed = new Map([[0, 4_000n]]);
    const nowMs = START_MS + 3 * HOUR_MS;
    const open = await compactLake({ lakeDir, committed, nowMs: START_MS + 2 * HOUR_MS, graceMs: 60_000 });
    assert.deepEqual([open.hoursCompacted, open.hoursOpen], [1, 1], "10:00 is closed, 11:00 is in its grace period");
    await compactLake({ lakeDir, committed, nowMs, graceMs: 0 });
    const compacted = await fingerprint(reader, lakeDir);

    // The consumer group was reset and the first flush written again: its rows are now in the lake twice, as
    // they would be if compaction had crashed between publishing the merged file and removing its inputs.
    await writer.write(trades("BTCUSDT", 0, 0, 500, 4_000), 0, 0n, START_MS);
    assert.match(await fingerprint(reader, lakeDir), /^4500 rows /);
    const summary = await compactLake({ lakeDir, committed, nowMs, graceMs: 0 });
    assert.equal(summary.duplicatesDropped, 500);
    assert.equal(await fingerprint(reader, lakeDir), compacted);
    assert.match(compacted, /^4000 rows /);
  } finally {
    writer.close();
    reader.closeSync();
    await Deno.remove(lakeDir, { recursive: true });
  }
});

/** The files of each hour, with merged files shown as "compact". */
async function filesPerHour(lakeDir: string): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const hour of await hourPartitions(lakeDir)) {
    const names = (await fileNames(hour.path)).filter((name) => !name.startsWith("."));
    result[`${hour.pair}/${String(hour.hour).padStart(2, "0")}`] = names.map((name) =>
      name.startsWith("compact-") ? "compact" : name
    );
  }
  return result;
}

Deno.test("withLakeLock() lets readers share and makes compaction wait for them", async () => {
  const lakeDir = await makeTestDir("lake-lock");
  try {
    // No lock file yet: readers run without one.
    assert.equal(await withLakeLock(lakeDir, "shared", () => Promise.resolve("read")), "read");
    const events: string[] = [];
    let releaseReader!: () => void;
    const readerHolds = new Promise<void>((resolve) => (releaseReader = resolve));
    await withLakeLock(lakeDir, "exclusive", () => Promise.resolve()); // creates the lock file
    const reading = withLakeLock(lakeDir, "shared", async () => {
      events.push("read start");
      await readerHolds;
      events.push("read end");
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const compacting = withLakeLock(lakeDir, "exclusive", () => Promise.resolve(events.push("swap")));
    await new Promise((resolve) => setTimeout(resolve, 100));
    releaseReader();
    await Promise.all([reading, compacting]);
    assert.deepEqual(events, ["read start", "read end", "swap"]);
    assert.ok(await Deno.stat(join(lakeDir, "_lake.lock")));
  } finally {
    await Deno.remove(lakeDir, { recursive: true });
  }
});
