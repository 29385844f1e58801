import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { PROJECT_ROOT } from "../../../../tasks/lib/paths.ts";
import { allDifferent } from "../../../../tasks/lib/lake/storage/unique_ids.ts";
import { refreshMarts } from "../../../../tasks/lib/warehouse/builder.ts";
import {
  type LakeFileIds,
  LakeFileIdsCache,
  readLakeFileIds,
  singleCopyFiles,
} from "../../../../tasks/lib/warehouse/single_copy.ts";
import { lakeFiles } from "../../../../tasks/lib/lake/storage/listing.ts";
import { type FixtureTrade, writeLake } from "../../../helpers/lake.ts";

const file = (path: string, minTradeId: number, maxTradeId: number, uniqueIds = true): LakeFileIds => ({
  path,
  minTradeId,
  maxTradeId,
  uniqueIds,
});

Deno.test("allDifferent() accepts increasing and shuffled distinct ids, and refuses a repeated one", () => {
  assert.equal(allDifferent([]), true);
  assert.equal(allDifferent([1, 2, 3, 10]), true);
  assert.equal(allDifferent([3, 1, 2]), true);
  assert.equal(allDifferent([1, 2, 2, 3]), false);
  assert.equal(allDifferent([5, 1, 5]), false);
});

Deno.test("singleCopyFiles() keeps marked files whose id range no other file of their folder overlaps", () => {
  const files = [
    file("/lake/pair=A/trade_date=2025-03-01/hour=12/a.parquet", 1, 100),
    file("/lake/pair=A/trade_date=2025-03-01/hour=12/b.parquet", 101, 200),
    // overlaps c's range: both need deduplication, wherever they sort
    file("/lake/pair=A/trade_date=2025-03-01/hour=12/d.parquet", 250, 260),
    file("/lake/pair=A/trade_date=2025-03-01/hour=12/c.parquet", 201, 300),
    file("/lake/pair=A/trade_date=2025-03-01/hour=12/e.parquet", 301, 400),
    // the same ids in another folder (another pair) are other trades
    file("/lake/pair=B/trade_date=2025-03-01/hour=12/a.parquet", 1, 100),
    // not promised unique: deduplicated though alone
    file("/lake/pair=B/trade_date=2025-03-01/hour=13/a.parquet", 500, 600, false),
    // one id shared at the edge is an overlap
    file("/lake/pair=C/trade_date=2025-03-01/hour=12/a.parquet", 1, 100),
    file("/lake/pair=C/trade_date=2025-03-01/hour=12/b.parquet", 100, 200),
    // a range inside a long earlier one overlaps it even though the file between them does not
    file("/lake/pair=D/trade_date=2025-03-01/hour=12/a.parquet", 1, 1000),
    file("/lake/pair=D/trade_date=2025-03-01/hour=12/b.parquet", 2, 3),
    file("/lake/pair=D/trade_date=2025-03-01/hour=12/c.parquet", 500, 501),
    // no statistics: unknown range, deduplicated
    { path: "/lake/pair=E/trade_date=2025-03-01/hour=12/a.parquet", uniqueIds: true },
  ];
  assert.deepEqual(singleCopyFiles(files), [
    "/lake/pair=A/trade_date=2025-03-01/hour=12/a.parquet",
    "/lake/pair=A/trade_date=2025-03-01/hour=12/b.parquet",
    "/lake/pair=A/trade_date=2025-03-01/hour=12/e.parquet",
    "/lake/pair=B/trade_date=2025-03-01/hour=12/a.parquet",
  ]);
});

Deno.test("the consumer's writer marks files with unique ids, the builder reads the marks, and staging keeps one copy either way", async () => {
  const id = crypto.randomUUID();
  const lakeDir = `${PROJECT_ROOT}/data/parquet/test-${id}`;
  const dbDir = `${PROJECT_ROOT}/data/duckdb/test-${id}`;
  const timeMs = Date.UTC(2025, 2, 1, 12, 0, 0);
  const trade = (tradeId: number, secondsIn: number): FixtureTrade => ({
    pair: "BTCUSDT",
    id: tradeId,
    price: "100.00",
    qty: "1",
    timeMs: timeMs + secondsIn * 1000,
  });
  try {
    // one flush with ids 1-3, one flush holding 5 twice (a retry in the same batch), one with 4 alone
    await writeLake(lakeDir, [trade(1, 1), trade(2, 2), trade(3, 3)], { firstOffset: 0 });
    await writeLake(lakeDir, [trade(5, 5), trade(5, 5)], { firstOffset: 3 });
    await writeLake(lakeDir, [trade(4, 4)], { firstOffset: 5 });

    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const root = await Deno.realPath(lakeDir);
    const glob = `${root}/pair=*/trade_date=*/hour=*/*.parquet`;
    const facts = await readLakeFileIds(connection, [glob]);
    const summary = facts.sort((a, b) => a.minTradeId! - b.minTradeId!)
      .map((file) => [file.minTradeId, file.maxTradeId, file.uniqueIds]);
    assert.deepEqual(summary, [[1, 3, true], [4, 4, true], [5, 5, false]]);
    assert.equal(singleCopyFiles(facts).length, 2);

    // The builder names files as the listing does; DuckDB must name them the same when it reads the lake's glob, or
    // no file would ever skip the window.
    const listed = (await lakeFiles(root)).map((file) => file.path).sort();
    const read =
      (await connection.runAndReadAll(`select distinct filename from read_parquet('${glob}', filename = true)`))
        .getRows().map((row) => String(row[0])).sort();
    assert.deepEqual(read, listed);
    connection.closeSync();
    instance.closeSync();

    const result = await refreshMarts({
      lakeDir,
      duckdbPath: `${dbDir}/crypto.duckdb`,
      modelsDir: `${PROJECT_ROOT}/models`,
      nowMs: timeMs + 3_600_000,
    });
    assert.ok(result.status === "built");
    assert.deepEqual(result.tests.filter((t) => t.failingRows > 0).map((t) => t.name), []);
    const stg = result.models.find((m) => m.id === "staging.stg_trades");
    assert.equal(stg?.rows, 5);
    assert.equal(result.lakeFilesDeduplicated, 1, "only the file holding 5 twice went through the window");

    // The facts are recorded with the files, for the next refresh.
    const db = await DuckDBInstance.create(`${dbDir}/crypto.duckdb`, { access_mode: "READ_ONLY" });
    const dbConnection = await db.connect();
    const recorded = (await dbConnection.runAndReadAll(
      "select min_trade_id::integer, max_trade_id::integer, unique_trade_ids from meta.lake_files order by 1",
    )).getRows();
    dbConnection.closeSync();
    db.closeSync();
    assert.deepEqual(recorded, [[1, 3, true], [4, 4, true], [5, 5, false]]);
  } finally {
    await Deno.remove(lakeDir, { recursive: true }).catch(() => {});
    await Deno.remove(dbDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("LakeFileIdsCache reuses the recorded facts of unchanged files and reads the footers of the others", async () => {
  const lakeDir = `${PROJECT_ROOT}/data/parquet/test-${crypto.randomUUID()}`;
  const timeMs = Date.UTC(2025, 2, 1, 12, 0, 0);
  const trade = (id: number): FixtureTrade => ({ pair: "BTCUSDT", id, price: "1", qty: "1", timeMs: timeMs + id });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await writeLake(lakeDir, [trade(1), trade(2)], { firstOffset: 0 });
    await writeLake(lakeDir, [trade(3)], { firstOffset: 2 });
    const [first, second] = await lakeFiles(await Deno.realPath(lakeDir));
    // Recorded facts that differ from the footers show which were reused.
    const recordedFirst = { path: first!.path, minTradeId: 100, maxTradeId: 200, uniqueIds: false };
    const recordedSecond = { path: second!.path, minTradeId: 300, maxTradeId: 300, uniqueIds: false };
    const recorded = [{ ...first!, ids: recordedFirst }, { ...second!, bytes: second!.bytes + 1, ids: recordedSecond }];
    const cache = new LakeFileIdsCache(recorded, [first!, second!]);
    const facts = await cache.of(connection, [first!.path, second!.path]);
    assert.deepEqual(facts, [
      recordedFirst, // unchanged: as recorded
      { path: second!.path, minTradeId: 3, maxTradeId: 3, uniqueIds: true }, // its size changed: read again
    ]);
    assert.deepEqual(cache.get(second!.path), facts[1]);
  } finally {
    connection.closeSync();
    instance.closeSync();
    await Deno.remove(lakeDir, { recursive: true }).catch(() => {});
  }
});
