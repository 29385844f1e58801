import assert from "node:assert/strict";
import {
  FlushError,
  LakeSink,
  removeUncommitted,
  shouldRotate,
  type Written,
} from "../../../../tasks/lib/lake/lake_sink.ts";
import { forEachRecord, packRecords, transferablesOf } from "../../../../tasks/lib/lake/packed_records.ts";
import { makeTestDir } from "../../../helpers/tasks.ts";

Deno.test("shouldRotate() writes on row count or on the age of the oldest buffered record", () => {
  const limits = { maxRows: 100, maxAgeMs: 1000 };
  assert.equal(shouldRotate(100, 0, limits), true);
  assert.equal(shouldRotate(99, 999, limits), false);
  assert.equal(shouldRotate(1, 1000, limits), true);
  assert.equal(shouldRotate(0, 5000, limits), false, "nothing to write");
});

Deno.test("removeUncommitted() deletes only this partition's files at or beyond the committed offset", async () => {
  const lake = await makeTestDir("lake");
  try {
    const hour = `${lake}/pair=BTCUSDT/trade_date=2025-01-01/hour=00`;
    await Deno.mkdir(hour, { recursive: true });
    const files = [
      "part-1-00000000000000000000.parquet", // committed
      "part-1-00000000000000000500.parquet", // written after the commit at 500: leftover
      "part-2-00000000000000000900.parquet", // another partition
      ".part-1-00000000000000000600.parquet.tmp", // a crash mid-write
      "compacted-00.parquet", // not ours to judge
    ];
    for (const name of files) await Deno.writeTextFile(`${hour}/${name}`, "");
    const removed = await removeUncommitted(lake, 1, 500n);
    assert.deepEqual(removed.map((path) => path.slice(hour.length + 1)).sort(), [
      ".part-1-00000000000000000600.parquet.tmp",
      "part-1-00000000000000000500.parquet",
    ]);
    const left = (await Array.fromAsync(Deno.readDir(hour))).map((e) => e.name).sort();
    assert.deepEqual(left, [
      "compacted-00.parquet",
      "part-1-00000000000000000000.parquet",
      "part-2-00000000000000000900.parquet",
    ]);
    assert.deepEqual(await removeUncommitted(`${lake}/missing`, 1, 0n), []);
  } finally {
    await Deno.remove(lake, { recursive: true });
  }
});

Deno.test("packRecords() and forEachRecord() hand over offsets and values exactly, empty and multi-byte ones too", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const records = [
    { kafkaOffset: 7n, value: encode('{"s":"BTCUSDT"}') },
    { kafkaOffset: 8n, value: null },
    { kafkaOffset: 9n, value: encode("") },
    { kafkaOffset: 2n ** 53n + 1n, value: encode("prix: 1 000 € — ok") },
    { kafkaOffset: 11n, value: new Uint8Array([0xff, 0x41]) }, // not UTF-8: decoded as Kafka's string would be
  ];
  const packed = packRecords(records);
  assert.equal(transferablesOf(packed).length, 3);
  const seen: [bigint, string | null][] = [];
  forEachRecord(packed, (offset, value) => seen.push([offset, value]));
  assert.deepEqual(seen, [
    [7n, '{"s":"BTCUSDT"}'],
    [8n, null],
    [9n, ""],
    [2n ** 53n + 1n, "prix: 1 000 € — ok"],
    [11n, "\ufffdA"],
  ]);
});

/** A writer whose writes finish when the test says so. */
function controlledWriter() {
  const writes: { rows: { kafkaOffset: bigint }[]; finish: (error?: Error) => void }[] = [];
  const writer = {
    write: (rows: { kafkaOffset: bigint }[]) =>
      new Promise<Written>((resolve, reject) => {
        writes.push({
          rows,
          finish: (error) =>
            error ? reject(error) : resolve({ files: [`f-${rows[0]!.kafkaOffset}`], rows: rows.length }),
        });
      }),
  };
  return { writer, writes };
}

Deno.test("LakeSink with overlap buffers while a flush runs, and commits flushes one at a time in order", async () => {
  const { writer, writes } = controlledWriter();
  const commits: [number, bigint][] = [];
  const sink = new LakeSink(
    writer,
    (p, next) => Promise.resolve(void commits.push([p, next])),
    { maxRows: 2, maxAgeMs: 1e9 },
    () => true,
    { overlap: true },
  );
  const add = (offset: bigint) => sink.add(0, offset, { kafkaOffset: offset }, 0);
  add(0n);
  add(1n);
  assert.deepEqual(await sink.flushDue(0), [], "started, not awaited");
  assert.equal(writes.length, 1);
  add(2n);
  add(3n); // due again while the first flush runs: the next call waits for it
  const second = sink.flushDue(0);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(writes.length, 1, "one flush at a time");
  writes[0]!.finish();
  assert.deepEqual((await second).map((o) => [o.rows, o.committedOffset]), [[2, 2n]]);
  assert.equal(writes.length, 2);
  writes[1]!.finish();
  assert.deepEqual((await sink.flushDue(0, true)).map((o) => o.committedOffset), [4n]);
  assert.deepEqual(commits, [[0, 2n], [0, 4n]]);
});

Deno.test("LakeSink with overlap drops what a failed flush's partition buffered since, when the failure is reported", async () => {
  const { writer, writes } = controlledWriter();
  const sink = new LakeSink(writer, async () => {}, { maxRows: 2, maxAgeMs: 1e9 }, () => true, { overlap: true });
  const add = (offset: bigint) => sink.add(0, offset, { kafkaOffset: offset }, 0);
  add(10n);
  add(11n);
  await sink.flushDue(0);
  add(12n); // buffered while the flush runs
  writes[0]!.finish(new Error("disk full"));
  await new Promise((resolve) => setTimeout(resolve, 10));
  add(13n); // after the failure, before anyone learnt of it
  await assert.rejects(sink.flushDue(0), (error: FlushError) => error.resumeOffset === 10n);
  assert.equal(sink.buffered, 0, "12 and 13 are read again after the rewind to 10");

  // A rebalance waits for the flush under way before forgetting the buffers.
  add(10n);
  add(11n);
  await sink.flushDue(0);
  let dropped = false;
  const drop = sink.dropAll().then(() => dropped = true);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(dropped, false);
  writes[1]!.finish();
  await drop;
  assert.deepEqual(await sink.flushDue(0, true), []);
});

Deno.test("LakeSink with overlap reports a failed flush at the next call, even when nothing else is due", async () => {
  const { writer, writes } = controlledWriter();
  const sink = new LakeSink(writer, async () => {}, { maxRows: 2, maxAgeMs: 1e9 }, () => true, { overlap: true });
  sink.add(3, 5n, { kafkaOffset: 5n }, 0);
  sink.add(3, 6n, { kafkaOffset: 6n }, 0);
  await sink.flushDue(0);
  writes[0]!.finish(new Error("read-only folder"));
  await new Promise((resolve) => setTimeout(resolve, 10));
  await assert.rejects(sink.flushDue(0), (error: FlushError) => error.partition === 3 && error.resumeOffset === 5n);
});
