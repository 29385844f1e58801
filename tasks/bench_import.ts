/**
 * `deno task bench:import [--trades N] [--small-trades M] [--quick]`: how fast `deno task import` turns a generated
 * archive day of N trades (default 10,000,000), served by the local exchange on loopback, into committed lake files,
 * and its peak RSS, again on a day of M trades (default 1,000,000) to see memory stay flat; then, in the same run, the
 * floor: DuckDB reading the same day's already-unzipped CSV into the same Parquet layout in one statement. The days
 * have a fixed seed, so the exchange builds each zip once (data/exchange-archive) and reuses it on every later run.
 * Prints one JSON document on stdout; progress goes to stderr.
 *
 * Permissions: run deno (the exchange and import tasks); net to loopback only; FFI for DuckDB (the floor, counting
 * the lake); read the project; write data/bench, data/parquet/bench and data/archive/bench.
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { runTask, TaskError, wholeNumberFlag } from "./lib/cli.ts";
import { openConfinedDuckDB } from "./lib/duckdb.ts";
import { round } from "./lib/bench/measure.ts";
import { importFloorStatement, importGoals, type ImportRunFigures } from "./lib/bench/import_bench.ts";
import { listeningPort } from "./lib/demo/plan.ts";
import { detectCsvLayout } from "./lib/lake/archive/csv_layout.ts";
import { unzipCsv } from "./lib/lake/archive/unzip_csv.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { collectOutput, spawnTask } from "./lib/processes.ts";
import { startService } from "./lib/supervisor/service.ts";

const SYMBOL = "BTCUSDT";
/** A 2025 day: microsecond times, as the spot archive has them today. */
const DAY = "2025-01-15";
const SEED = 15;
const LAKE_DIR = "data/parquet/bench/import";
const CACHE_DIR = "data/archive/bench/import";
const BENCH_DIR = resolve(PROJECT_ROOT, "data/bench/import");
/** The exchange's periodic progress line, left out of the benchmark's own. */
const PROGRESS = /trades\/s, \d+ connections open/;

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const log = (line: string) => console.error(`bench: ${line}`);
  await Deno.mkdir(BENCH_DIR, { recursive: true });

  // 1. The small day first (its zip is quick to build), then the large one and its floor.
  const small = await importDay(options.smallTrades, false, log);
  const large = await importDay(options.trades, true, log);

  log("floor: DuckDB reading the unzipped CSV into the same Parquet layout in one statement");
  const floor = await timeFloor(large.zipPath!, options.trades);

  const goals = importGoals(large, small, floor.seconds);
  console.log(JSON.stringify(
    {
      benchmark: "import",
      machine: { cpus: navigator.hardwareConcurrency },
      symbol: SYMBOL,
      day: DAY,
      trades: options.trades,
      seconds: round(large.seconds),
      trades_per_s: round(options.trades / large.seconds),
      peak_rss_mb: round(large.peakRssBytes / 2 ** 20),
      lake_files: large.files,
      small_day: {
        trades: options.smallTrades,
        seconds: round(small.seconds),
        trades_per_s: round(options.smallTrades / small.seconds),
        peak_rss_mb: round(small.peakRssBytes / 2 ** 20),
      },
      rss_ratio_large_to_small: round(large.peakRssBytes / small.peakRssBytes),
      floor_seconds: round(floor.seconds),
      floor_trades_per_s: round(options.trades / floor.seconds),
      ratio_to_floor: round(floor.seconds / large.seconds),
      reference: {
        tool: "DuckDB read_csv of the same day's unzipped CSV → the same Parquet layout, one statement, same run",
        unzip_seconds_not_counted: round(floor.unzipSeconds),
      },
      goals,
    },
    null,
    2,
  ));
}

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      trades: { type: "string" },
      "small-trades": { type: "string" },
      quick: { type: "boolean", default: false },
    },
  });
  const trades = values.trades ?? (values.quick ? "1000000" : "10000000");
  const small = values["small-trades"] ?? (values.quick ? "100000" : "1000000");
  return {
    trades: wholeNumberFlag("trades", trades, 1000, 100_000_000),
    smallTrades: wholeNumberFlag("small-trades", small, 1000, 100_000_000),
  };
}

interface ImportedDay extends ImportRunFigures {
  files: number;
  /** The day's zip, fetched from the exchange after the import (for the floor), when asked for. */
  zipPath: string | undefined;
}

/**
 * Serves a generated day of `trades` trades, imports it into a fresh lake and checks the lake holds each once; with
 * `keepZip`, fetches the day's zip too.
 */
async function importDay(trades: number, keepZip: boolean, log: (line: string) => void): Promise<ImportedDay> {
  const exchange = startService(
    "exchange",
    [
      "--port=0",
      `--symbols=${SYMBOL}`,
      `--seed=${SEED}`,
      "--rate=1",
      `--archive-from=${DAY}`,
      `--archive-to=${DAY}`,
      `--archive-trades-per-day=${trades}`,
    ],
    {},
    { onLine: (line, stream) => stream === "stderr" && !PROGRESS.test(line) && log(line), keepStdout: false },
  );
  try {
    const port = await exchange.waitForLine(listeningPort, 30_000, new AbortController().signal);
    const base = `http://127.0.0.1:${port}`;
    const zipUrl = `${base}/data/spot/daily/trades/${SYMBOL}/${SYMBOL}-trades-${DAY}.zip`;
    // The exchange builds the zip on the first request (about 50 s for 10M trades, once per size): not timed.
    log(`${trades} trades: the exchange's zip of ${DAY} (built on first use, then reused)`);
    const head = await fetch(`${zipUrl}.CHECKSUM`, { method: "HEAD", signal: AbortSignal.timeout(900_000) });
    if (!head.ok) throw new TaskError(`The exchange cannot serve ${zipUrl}: HTTP ${head.status}`);

    for (const dir of [LAKE_DIR, CACHE_DIR]) {
      await Deno.remove(resolve(PROJECT_ROOT, dir), { recursive: true }).catch(() => {});
    }
    log(`${trades} trades: deno task import into ${LAKE_DIR}`);
    const run = await runImport(base);
    log(`${trades} trades: imported in ${run.seconds.toFixed(2)} s, peak RSS ${mb(run.peakRssBytes)} MB`);
    const lake = await countLake();
    if (lake.trades !== trades || lake.distinct !== trades) {
      throw new TaskError(`The lake holds ${lake.trades} trades (${lake.distinct} distinct ids), expected ${trades}`);
    }

    if (!keepZip) return { trades, ...run, files: lake.files, zipPath: undefined };
    const zipPath = join(BENCH_DIR, `${SYMBOL}-trades-${DAY}.zip`);
    const body = await fetch(zipUrl);
    if (!body.ok || body.body === null) throw new TaskError(`Cannot fetch ${zipUrl}: HTTP ${body.status}`);
    const file = await Deno.open(zipPath, { write: true, create: true, truncate: true });
    await body.body.pipeTo(file.writable);
    return { trades, ...run, files: lake.files, zipPath };
  } finally {
    await exchange.stop();
  }
}

/** Runs `deno task import` of the day from `base`: wall time from start to exit, and its peak RSS. */
async function runImport(base: string): Promise<{ seconds: number; peakRssBytes: number }> {
  const started = performance.now();
  const child = spawnTask(
    "import",
    { BINANCE_DATA_URL: base, LAKE_DIR, ARCHIVE_CACHE_DIR: CACHE_DIR },
    [`--symbols=${SYMBOL}`, `--from=${DAY}`, `--to=${DAY}`, "--force"],
  );
  const output = collectOutput(child);
  const status = await child.status;
  const seconds = (performance.now() - started) / 1000;
  await output.done;
  if (!status.success) throw new TaskError(`The import failed (exit code ${status.code}):\n${output.text()}`);
  // The import reports its own high-water mark (getrusage), which no sampling from outside can miss.
  const line = output.text().split("\n").find((text) => text.includes('"import_summary"'));
  const summary = line === undefined ? undefined : JSON.parse(line);
  if (typeof summary?.peakRssBytes !== "number") throw new TaskError(`No import summary:\n${output.text()}`);
  return { seconds, peakRssBytes: summary.peakRssBytes };
}

/** Trades, distinct ids and files in the bench lake. */
async function countLake(): Promise<{ trades: number; distinct: number; files: number }> {
  const lakeRoot = await Deno.realPath(resolve(PROJECT_ROOT, LAKE_DIR));
  const db = await openConfinedDuckDB(":memory:", { allowedPaths: [`${lakeRoot}/`] });
  try {
    const glob = `${lakeRoot}/pair=*/trade_date=*/hour=*/*.parquet`;
    const [row] = (await db.connection.runAndReadAll(
      `select count(*), count(distinct trade_id), count(distinct filename)
       from read_parquet('${glob}', hive_partitioning = false, filename = true)`,
    )).getRows();
    return { trades: Number(row![0]), distinct: Number(row![1]), files: Number(row![2]) };
  } finally {
    db.close();
  }
}

/** The floor over the day in `zipPath`: unzipped first (not timed), then one DuckDB statement, timed. */
async function timeFloor(zipPath: string, trades: number): Promise<{ seconds: number; unzipSeconds: number }> {
  const csvPath = join(BENCH_DIR, "floor.csv");
  const outputDir = join(BENCH_DIR, "floor-lake");
  await Deno.remove(outputDir, { recursive: true }).catch(() => {});
  const unzipStarted = performance.now();
  const unzipped = await unzipCsv(zipPath, csvPath);
  const unzipSeconds = (performance.now() - unzipStarted) / 1000;
  const db = await openConfinedDuckDB(":memory:", { allowedPaths: [`${BENCH_DIR}/`] });
  try {
    const layout = detectCsvLayout(unzipped.firstLine, unzipped.secondLine);
    const started = performance.now();
    await db.connection.run(importFloorStatement({ csvPath, layout, pair: SYMBOL, outputDir }));
    const seconds = (performance.now() - started) / 1000;
    const [row] = (await db.connection.runAndReadAll(
      `select count(*) from read_parquet('${outputDir}/pair=*/trade_date=*/hour=*/*.parquet')`,
    )).getRows();
    if (Number(row![0]) !== trades) throw new TaskError(`The floor wrote ${row![0]} trades, expected ${trades}`);
    return { seconds, unzipSeconds };
  } finally {
    db.close();
    await Deno.remove(csvPath).catch(() => {});
    await Deno.remove(outputDir, { recursive: true }).catch(() => {});
    await Deno.remove(zipPath).catch(() => {});
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

if (import.meta.main) runTask("bench:import", main);
