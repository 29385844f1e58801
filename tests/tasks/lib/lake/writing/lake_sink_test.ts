import assert from "node:assert/strict";
import {
  FlushError,
  LakeSink,
  type PreparedFlush,
  removeUncommitted,
  type RowWriter,
  shouldRotate,
} from "../../../../../tasks/lib/lake/writing/lake_sink.ts";
import { forEachRecord, packRecords, transferablesOf } from "../../../../../tasks/lib/lake/decoding/packed_records.ts";
import { makeTestDir } from "../../../../helpers/tasks.ts";

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

/** A two-phase writer whose preparations finish when the test says so, and which records what it published. */
function controlledWriter() {
  const prepared: { partition: number; first: bigint; finish: (error?: Error) => void }[] = [];
  const events: string[] = [];
  const writer = {
    write: () => Promise.reject(new Error("a sink with overlap prepares and publishes")),
    prepare: (rows: { kafkaOffset: bigint }[], partition: number) =>
      new Promise<PreparedFlush>((resolve, reject) => {
        const name = `${partition}@${rows[0]!.kafkaOffset}`;
        events.push(`prepare ${name}`);
        prepared.push({
          partition,
          first: rows[0]!.kafkaOffset,
          finish: (error) =>
            error ? reject(error) : resolve({
              publish: () => {
                events.push(`publish ${name}`);
                return Promise.resolve({ files: [name], rows: rows.length });
              },
              discard: () => Promise.resolve(void events.push(`discard ${name}`)),
            }),
        });
      }),
  };
  return { writer, prepared, events };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function overlappingSink(writer: RowWriter<{ kafkaOffset: bigint }>, commits: string[] = []) {
  const sink = new LakeSink(
    writer,
    (partition, next) => Promise.resolve(void commits.push(`commit ${partition}@${next}`)),
    { maxRows: 2, maxAgeMs: 1e9 },
    () => true,
    { overlap: true },
  );
  const add = (partition: number, ...offsets: bigint[]) => {
    for (const offset of offsets) sink.add(partition, offset, { kafkaOffset: offset }, 0);
  };
  return { sink, add };
}

Deno.test("LakeSink with overlap prepares the next flush while one publishes, and commits in order", async () => {
  const { writer, prepared, events } = controlledWriter();
  const { sink, add } = overlappingSink(writer, events);
  add(0, 0n, 1n);
  add(1, 0n, 1n);
  assert.deepEqual(await sink.flushDue(0), [], "both started, neither awaited");
  assert.deepEqual(events, ["prepare 0@0", "prepare 1@0"]);
  prepared[1]!.finish(); // the later one is ready first: it still waits for the earlier
  await settle();
  assert.deepEqual(events, ["prepare 0@0", "prepare 1@0"]);
  add(0, 2n, 3n); // a third flush is due: it waits for the oldest to finish
  const third = sink.flushDue(0);
  await settle();
  assert.equal(prepared.length, 2, "at most two under way");
  prepared[0]!.finish();
  assert.deepEqual((await third).map((o) => `${o.partition}:${o.rows}:${o.committedOffset}`), ["0:2:2"]);
  prepared[2]!.finish();
  const rest = await sink.flushDue(0, true);
  assert.deepEqual(rest.map((o) => `${o.partition}:${o.committedOffset}`), ["1:2", "0:4"]);
  assert.deepEqual(events, [
    "prepare 0@0",
    "prepare 1@0",
    "publish 0@0",
    "commit 0@2",
    "prepare 0@2",
    "publish 1@0",
    "commit 1@2",
    "publish 0@2",
    "commit 0@4",
  ]);
});

Deno.test("LakeSink with overlap abandons the flushes after a failed one and rewinds every partition involved", async () => {
  const { writer, prepared, events } = controlledWriter();
  const { sink, add } = overlappingSink(writer);
  add(0, 10n, 11n);
  add(1, 20n, 21n);
  await sink.flushDue(0);
  add(0, 12n); // buffered while the flushes run
  prepared[1]!.finish();
  prepared[0]!.finish(new Error("disk full"));
  await settle();
  add(1, 22n); // after the failure, before anyone learnt of it
  await assert.rejects(sink.flushDue(0), (error: FlushError) => {
    assert.deepEqual(error.rewinds, [{ partition: 0, resumeOffset: 10n }, { partition: 1, resumeOffset: 20n }]);
    return true;
  });
  assert.equal(sink.buffered, 0, "12 and 22 are read again after the rewinds");
  assert.deepEqual(events, ["prepare 0@10", "prepare 1@20", "discard 1@20"], "the later flush was never published");

  // A rebalance waits for the flushes under way before forgetting the buffers.
  add(0, 10n, 11n);
  await sink.flushDue(0);
  let dropped = false;
  const drop = sink.dropAll().then(() => dropped = true);
  await settle();
  assert.equal(dropped, false);
  prepared[2]!.finish();
  await drop;
  assert.deepEqual(await sink.flushDue(0, true), []);
});

Deno.test("LakeSink with overlap rewinds a partition to its earliest abandoned offset, and reports a failure unasked", async () => {
  const { writer, prepared } = controlledWriter();
  const { sink, add } = overlappingSink(writer);
  add(3, 5n, 6n);
  await sink.flushDue(0);
  add(3, 7n, 8n);
  await sink.flushDue(0); // the same partition's next flush, started behind the first
  prepared[0]!.finish(new Error("read-only folder"));
  prepared[1]!.finish();
  await settle();
  await assert.rejects(sink.flushDue(0), (error: FlushError) => {
    assert.deepEqual(error.rewinds, [{ partition: 3, resumeOffset: 5n }]);
    return true;
  });
});
