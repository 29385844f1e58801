/**
 * importArchiveFile()'s pipeline (hour_pipeline.ts): each hour converted on its own while the next is inflated, and
 * the whole-file statement whenever the hours cannot be trusted. Either way the lake gets the same files and rows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openConfinedDuckDB } from "../../../../../tasks/lib/duckdb.ts";
import { textStream, writeZip } from "../../../../../tasks/lib/exchange/archive_zip.ts";
import type { ArchiveFile } from "../../../../../tasks/lib/lake/archive/archive_files.ts";
import { importArchiveFile } from "../../../../../tasks/lib/lake/archive/import_file.ts";
import { makeTestDir } from "../../../../helpers/tasks.ts";

const FILE: ArchiveFile = {
  market: "spot",
  symbol: "BTCUSDT",
  period: "daily",
  date: "2024-08-01",
  days: ["2024-08-01"],
};
/** 2024-08-01 00:00 UTC in ms. */
const DAY_MS = 1722470400000;
const HOUR_MS = 3_600_000;

/** A spot line (no header, seven columns) of trade `id` at `hour`:`ms`. */
function spot(id: number, hour: number, price = "10.00000000", ms = id): string {
  return `${id},${price},1.00000000,10.00000000,${DAY_MS + hour * HOUR_MS + ms},True,True\n`;
}

interface Imported {
  files: string[];
  rows: [number, string, string][];
  uniqueMarked: number;
  work: string[];
}

/** Imports a zip of `csv` as FILE into a fresh lake: the lake's files and rows, or the error. */
async function importCsv(csv: string): Promise<Imported | Error> {
  const dir = await makeTestDir("hour-pipeline");
  const lakeDir = join(dir, "lake");
  const workDir = join(dir, "work");
  await Deno.mkdir(lakeDir);
  await Deno.mkdir(workDir);
  const duckdb = await openConfinedDuckDB(":memory:", { allowedPaths: [`${dir}/`], threads: 1 });
  try {
    const zip = await writeZip(join(dir, "z.zip"), "BTCUSDT-trades-2024-08-01.csv", textStream([csv]), new Date());
    try {
      await importArchiveFile(FILE, zip.path, zip.sha256, { duckdb, lakeDir, workDir, nowMs: Date.now });
    } catch (error) {
      return error as Error;
    }
    const glob = `${lakeDir}/pair=*/trade_date=*/hour=*/*.parquet`;
    const files = (await duckdb.connection.runAndReadAll(`select file from glob('${glob}') order by file`))
      .getRows().map(([file]) => String(file).slice(lakeDir.length + 1));
    const rows = (await duckdb.connection.runAndReadAll(
      `select trade_id::integer, price::varchar, strftime(trade_time, '%H') from read_parquet('${glob}') order by 1`,
    )).getRows() as [number, string, string][];
    const marked = await duckdb.connection.runAndReadAll(
      `select count(*)::integer from parquet_kv_metadata('${glob}') where decode(key) = 'trade_ids'`,
    );
    const work = (await Array.fromAsync(Deno.readDir(workDir))).map((entry) => entry.name);
    return { files, rows, uniqueMarked: Number(marked.getRows()[0]![0]), work };
  } finally {
    duckdb.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const hourFile = (hour: string) =>
  `pair=BTCUSDT/trade_date=2024-08-01/hour=${hour}/archive-BTCUSDT-2024-08-01-${hour}.parquet`;

Deno.test("importArchiveFile() converts hour by hour into one marked file per hour, and leaves no part behind", async () => {
  const csv = spot(1, 0) + spot(2, 0) + spot(3, 7) + spot(4, 23);
  const result = await importCsv(csv);
  assert.ok(!(result instanceof Error), String(result));
  assert.deepEqual(result.files, [hourFile("00"), hourFile("07"), hourFile("23")]);
  assert.deepEqual(result.rows.map(([id, , hour]) => [id, hour]), [[1, "00"], [2, "00"], [3, "07"], [4, "23"]]);
  assert.equal(result.uniqueMarked, 3);
  assert.deepEqual(result.work, []);
});

Deno.test("importArchiveFile() takes the whole-file statement when times go back to an earlier hour", async () => {
  const result = await importCsv(spot(1, 0) + spot(2, 5) + spot(3, 1));
  assert.ok(!(result instanceof Error), String(result));
  assert.deepEqual(result.files, [hourFile("00"), hourFile("01"), hourFile("05")]);
  assert.deepEqual(result.rows.map(([id, , hour]) => [id, hour]), [[1, "00"], [2, "05"], [3, "01"]]);
});

Deno.test("importArchiveFile() never writes a trade into another hour's file", async () => {
  // Hour 5 between two trades of hour 0 in one chunk: the splitter keeps it in hour 0's part, whose statement refuses it.
  const result = await importCsv(spot(1, 0) + spot(2, 5) + spot(3, 0));
  assert.ok(!(result instanceof Error), String(result));
  assert.deepEqual(result.files, [hourFile("00"), hourFile("05")]);
  assert.deepEqual(result.rows.map(([id, , hour]) => [id, hour]), [[1, "00"], [2, "05"], [3, "00"]]);
});

Deno.test("importArchiveFile() converts an hour with an amount beyond DECIMAL(18, 8) exactly", async () => {
  const result = await importCsv(spot(1, 0) + spot(2, 3, "12345678901.12345678"));
  assert.ok(!(result instanceof Error), String(result));
  assert.deepEqual(result.rows.map(([id, price]) => [id, price]), [[1, "10.00000000"], [2, "12345678901.12345678"]]);
});

Deno.test("importArchiveFile() imports every line of a file with a header, each hour's first one too", async () => {
  const header = "id,price,qty,quote_qty,time,is_buyer_maker\n";
  const line = (id: number, hour: number) => `${id},10.0,1.0,10.0,${DAY_MS + hour * HOUR_MS + id},false\n`;
  const result = await importCsv(header + line(1, 0) + line(2, 0) + line(3, 4) + line(4, 9));
  assert.ok(!(result instanceof Error), String(result));
  assert.deepEqual(result.rows.map(([id, , hour]) => [id, hour]), [[1, "00"], [2, "00"], [3, "04"], [4, "09"]]);
});

Deno.test("importArchiveFile() names a refused line by its number in the whole file, header included", async () => {
  const header = "id,price,qty,quote_qty,time,is_buyer_maker\n";
  const futures = (id: number, hour: number, price = "10.0", buyer = "true") =>
    `${id},${price},1.0,10.0,${DAY_MS + hour * HOUR_MS + id},${buyer}\n`;
  const amount = await importCsv(header + futures(1, 0) + futures(2, 0) + futures(3, 4, "1x"));
  assert.equal(
    (amount as Error).message,
    "BTCUSDT-trades-2024-08-01.zip: line 4, field price: expected a decimal with at most 12 digits before and 8 after " +
      'the point, got "1x"; nothing of this file was imported',
  );
  const flag = await importCsv(header + futures(1, 0) + futures(2, 4) + futures(3, 9, "10.0", "maybe"));
  assert.equal(
    (flag as Error).message,
    'BTCUSDT-trades-2024-08-01.zip: line 4, field is_buyer_maker: expected True or False, got "maybe"; nothing of ' +
      "this file was imported",
  );
});
