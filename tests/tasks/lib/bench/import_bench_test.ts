import assert from "node:assert/strict";
import { join } from "node:path";
import { openConfinedDuckDB } from "../../../../tasks/lib/duckdb.ts";
import { importFloorStatement, importGoals } from "../../../../tasks/lib/bench/import_bench.ts";
import { importStatement } from "../../../../tasks/lib/lake/archive/import_sql.ts";
import { makeTestDir } from "../../../helpers/tasks.ts";

Deno.test("importGoals() holds the import to 1M trades/s, 0.6 of the floor, 1 GB and flat memory", () => {
  const mb = 2 ** 20;
  const large = { trades: 10_000_000, seconds: 12.5, peakRssBytes: 270 * mb };
  const met = importGoals(large, { trades: 1_000_000, seconds: 2, peakRssBytes: 230 * mb }, 10);
  assert.deepEqual(Object.fromEntries(Object.entries(met).map(([name, goal]) => [name, goal.met])), {
    trades_per_s: false,
    ratio_to_floor: true,
    peak_rss_mb: true,
    rss_large_to_small: true,
  });
  const missed = importGoals({ ...large, seconds: 9 }, { trades: 1_000_000, seconds: 2, peakRssBytes: 200 * mb }, 5);
  assert.equal(missed.trades_per_s.met, true);
  assert.equal(missed.ratio_to_floor.met, false, "5 s of floor over 9 s is 0.56");
  assert.equal(missed.rss_large_to_small.met, false, "270 MB is 35 % above 200 MB");
});

Deno.test("importFloorStatement() writes the import's columns and types in the same Hive layout", async () => {
  const dir = await makeTestDir("import-floor");
  const db = await openConfinedDuckDB(":memory:", { allowedPaths: [`${dir}/`] });
  try {
    const csvPath = join(dir, "day.csv");
    // 2025-01-15 00:00:00.000001 and 05:00:00.000002 UTC, in µs.
    await Deno.writeTextFile(
      csvPath,
      "1,10.00000000,1.00000000,10.00000000,1736899200000001,True,True\n" +
        "2,11.00000000,2.00000000,22.00000000,1736917200000002,False,True\n",
    );
    const layout = { hasHeader: false, columns: 7, timeUnit: "us" } as const;
    const pair = "BTCUSDT";
    await db.connection.run(importFloorStatement({ csvPath, layout, pair, outputDir: join(dir, "floor") }));
    await db.connection.run(importStatement({
      csvPath,
      layout,
      pair,
      outputDir: join(dir, "import"),
      writtenAtMs: 0,
      uniqueIds: false,
      uniqueIdsOption: "",
      amounts: "decimal18",
    }));
    const described = async (folder: string) => {
      const glob = join(dir, folder, "pair=*/trade_date=*/hour=*/*.parquet");
      const files = (await db.connection.runAndReadAll(`select file from glob('${glob}') order by file`)).getRows();
      const schema = await db.connection.runAndReadAll(`describe select * from read_parquet('${glob}')`);
      return {
        files: files.map(([file]) => String(file).slice(join(dir, folder).length)),
        columns: schema.getRows().map(([name, type]) => `${name} ${type}`),
      };
    };
    const floor = await described("floor");
    assert.deepEqual(floor, await described("import"));
    assert.deepEqual(floor.files, [
      "/pair=BTCUSDT/trade_date=2025-01-15/hour=00/data_0.parquet",
      "/pair=BTCUSDT/trade_date=2025-01-15/hour=05/data_0.parquet",
    ]);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
