import assert from "node:assert/strict";
import { removeUncommitted, shouldRotate } from "../../../../tasks/lib/lake/lake_sink.ts";
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
