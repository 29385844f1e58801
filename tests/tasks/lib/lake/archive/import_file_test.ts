/** importArchiveFile() on small zips written here: what it publishes, and what it refuses whole. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openConfinedDuckDB } from "../../../../../tasks/lib/duckdb.ts";
import { textStream, writeZip } from "../../../../../tasks/lib/exchange/archive_zip.ts";
import type { ArchiveFile } from "../../../../../tasks/lib/lake/archive/archive_files.ts";
import { importArchiveFile, ImportFileError } from "../../../../../tasks/lib/lake/archive/import_file.ts";
import { makeTestDir } from "../../../../helpers/tasks.ts";

const FILE: ArchiveFile = {
  market: "spot",
  symbol: "BTCUSDT",
  period: "daily",
  date: "2024-08-01",
  days: ["2024-08-01"],
};
/** 2024-08-01 00:00:00.000 and 23:59:59.999, and 2024-08-02 00:00:00.500 UTC, in ms. */
const FIRST = "1,10.00000000,1.00000000,10.00000000,1722470400000,True,True\n";
const LAST = "2,11.00000000,2.00000000,22.00000000,1722556799999,False,True\n";
const NEXT_DAY = "3,12.00000000,3.00000000,36.00000000,1722556800500,True,True\n";

/** Imports a zip of `csv` as FILE into a fresh lake; returns the lake's files (or the error). */
async function importCsv(csv: string): Promise<string[] | Error> {
  const dir = await makeTestDir("import-file");
  const lakeDir = join(dir, "lake");
  const workDir = join(dir, "work");
  await Deno.mkdir(lakeDir);
  await Deno.mkdir(workDir);
  const duckdb = await openConfinedDuckDB(":memory:", { allowedPaths: [`${dir}/`] });
  try {
    const zip = await writeZip(
      join(dir, "BTCUSDT-trades-2024-08-01.zip"),
      "BTCUSDT-trades-2024-08-01.csv",
      textStream([csv]),
      new Date(),
    );
    try {
      await importArchiveFile(FILE, zip.path, zip.sha256, { duckdb, lakeDir, workDir, nowMs: Date.now });
    } catch (error) {
      return error as Error;
    }
    const files: string[] = [];
    for await (const pair of Deno.readDir(lakeDir)) {
      if (!pair.name.startsWith("pair=")) continue;
      for await (const date of Deno.readDir(join(lakeDir, pair.name))) {
        for await (const hour of Deno.readDir(join(lakeDir, pair.name, date.name))) {
          for await (const file of Deno.readDir(join(lakeDir, pair.name, date.name, hour.name))) {
            files.push(`${pair.name}/${date.name}/${hour.name}/${file.name}`);
          }
        }
      }
    }
    return files.sort();
  } finally {
    duckdb.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("importArchiveFile() publishes the day's trades as one file per hour", async () => {
  assert.deepEqual(await importCsv(FIRST + LAST), [
    "pair=BTCUSDT/trade_date=2024-08-01/hour=00/archive-BTCUSDT-2024-08-01-00.parquet",
    "pair=BTCUSDT/trade_date=2024-08-01/hour=23/archive-BTCUSDT-2024-08-01-23.parquet",
  ]);
});

Deno.test("importArchiveFile() refuses a file holding a trade of another day, publishing nothing of it", async () => {
  const result = await importCsv(FIRST + NEXT_DAY + LAST);
  assert.ok(result instanceof ImportFileError, `refused: ${result}`);
  assert.equal(
    result.message,
    "BTCUSDT-trades-2024-08-01.zip: holds trades of 2024-08-02, outside the day it is named for; " +
      "nothing of this file was imported",
  );
});

Deno.test("importArchiveFile() refuses an empty field, naming its line and field, publishing nothing", async () => {
  const cases: [string, string][] = [
    ["2,,2.00000000,22.00000000,1722556799999,False,True\n", "price"],
    ["2,11.00000000,,22.00000000,1722556799999,False,True\n", "qty"],
    [",11.00000000,2.00000000,22.00000000,1722556799999,False,True\n", "id"],
    ["2,11.00000000,2.00000000,22.00000000,,False,True\n", "time"],
    ["2,11.00000000,2.00000000,22.00000000,1722556799999,False,\n", "is_best_match"],
  ];
  for (const [line, field] of cases) {
    const result = await importCsv(FIRST + line);
    assert.ok(result instanceof ImportFileError, `${field}: refused, got ${result}`);
    assert.match(result.message, new RegExp(`^BTCUSDT-trades-2024-08-01\\.zip: line 2.*\\b${field}\\b`), field);
    assert.match(result.message, /nothing of this file was imported$/, field);
  }
});
