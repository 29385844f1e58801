/**
 * `deno task bench:refresh [--trades N]`: how long the mart builder takes on a large lake. Generates a lake of N
 * trades (default 10,000,000) over three symbols and a day, then times a full refresh, an incremental refresh after
 * five new minutes of trades, and, on the same lake in the same run, the floor: candles and order flow as one DuckDB
 * statement straight over the lake. Prints one JSON document on stdout; progress goes to stderr.
 *
 * Permissions: FFI for DuckDB; read models/ and data/bench; write data/bench.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { runTask, wholeNumberFlag } from "./lib/cli.ts";
import { openConfinedDuckDB } from "./lib/duckdb.ts";
import { round } from "./lib/bench/measure.ts";
import { BENCH_SYMBOLS, floorSql, type GeneratedRange, generateLakeSql } from "./lib/bench/generated_lake.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { refreshMarts } from "./lib/warehouse/builder.ts";

const BENCH_DIR = resolve(PROJECT_ROOT, "data/bench/refresh");
const DAY_US = 86_400_000_000;

async function main(): Promise<void> {
  const { values } = parseArgs({ args: Deno.args, options: { trades: { type: "string", default: "10000000" } } });
  const trades = wholeNumberFlag("trades", values.trades, 3000, 100_000_000);
  const log = (line: string) => console.error(`bench: ${line}`);
  const lakeDir = `${BENCH_DIR}/lake`;
  const duckdbPath = `${BENCH_DIR}/crypto.duckdb`;
  await Deno.remove(BENCH_DIR, { recursive: true }).catch(() => {});
  await Deno.mkdir(lakeDir, { recursive: true });

  // 1. The lake: a day of trades, a third per symbol, ending a few minutes ago.
  const perSymbol = Math.floor(trades / BENCH_SYMBOLS.length);
  const stepUs = Math.floor(DAY_US / perSymbol);
  const startUs = Math.floor((Date.now() - 10 * 60_000) * 1000) - perSymbol * stepUs;
  const day: GeneratedRange = { perSymbol, firstId: 1, startUs, stepUs };
  const fiveMinutes = Math.ceil(5 * 60_000_000 / stepUs);
  log(`generating ${perSymbol * BENCH_SYMBOLS.length} trades in ${lakeDir}`);
  await generate(lakeDir, day, "part-day");

  const settings = {
    lakeDir,
    duckdbPath,
    modelsDir: resolve(PROJECT_ROOT, "models"),
    log: (line: string) => log(line.trim()),
  };
  // 2. Full refresh (with data tests, as the nightly run does).
  log("full refresh");
  const full = await refreshMarts({ ...settings, full: true });
  if (full.status !== "built") throw new Error(`The full refresh did not build: ${full.status}`);

  // 3. Five new minutes of trades, then an incremental refresh (with tests, as the scheduled run does).
  log(`adding five minutes (${fiveMinutes * BENCH_SYMBOLS.length} trades)`);
  await generate(lakeDir, { ...day, perSymbol: fiveMinutes, firstId: perSymbol + 1 }, "part-new");
  log("incremental refresh");
  const incremental = await refreshMarts(settings);
  if (incremental.status !== "built") throw new Error(`The incremental refresh did not build: ${incremental.status}`);

  // 4. The floor over the same lake.
  log("floor: candles and order flow as one statement over the lake");
  const floorSeconds = await timeFloor(lakeDir);

  const result = {
    benchmark: "refresh",
    trades: (perSymbol + fiveMinutes) * BENCH_SYMBOLS.length,
    symbols: BENCH_SYMBOLS.length,
    lake_files: incremental.lakeFiles,
    // files whose trades went through staging's de-duplicating window in the full refresh (the rest had one copy)
    lake_files_deduplicated: full.lakeFilesDeduplicated,
    full_refresh_s: round(full.seconds),
    full_models_s: round(full.models.reduce((sum, m) => sum + m.seconds, 0)),
    full_tests_s: round(full.tests.reduce((sum, t) => sum + t.seconds, 0)),
    incremental_refresh_s: round(incremental.seconds),
    incremental_rebuilt_from: incremental.rebuiltFrom ?? null,
    floor_s: round(floorSeconds),
    ratio_full_to_floor: round(full.seconds / floorSeconds),
    phases_full_s: roundAll(full.phaseSeconds),
    phases_incremental_s: roundAll(incremental.phaseSeconds),
    per_model_full_s: Object.fromEntries(full.models.map((m) => [m.id, round(m.seconds)])),
    per_model_incremental_s: Object.fromEntries(incremental.models.map((m) => [m.id, round(m.seconds)])),
    reference: {
      tool: "candles + order flow as one DuckDB statement over the same lake, same run",
      floor_s: round(floorSeconds),
    },
    goals: {
      full_refresh_s: { goal: "<= 15", met: full.seconds <= 15 },
      ratio_full_to_floor: { goal: "<= 3", met: full.seconds / floorSeconds <= 3 },
      incremental_refresh_s: { goal: "<= 1.5", met: incremental.seconds <= 1.5 },
    },
    tests_failed: full.tests.filter((t) => t.failingRows > 0).map((t) => t.name),
  };
  console.log(JSON.stringify(result, null, 2));
}

function roundAll(figures: Record<string, number>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(figures).map(([name, value]) => [name, round(value)]));
}

async function generate(lakeDir: string, range: GeneratedRange, prefix: string): Promise<void> {
  const db = await openConfinedDuckDB(":memory:", { allowedPaths: [`${BENCH_DIR}/`], settings: { TimeZone: "UTC" } });
  try {
    await db.connection.run(generateLakeSql(lakeDir, range, prefix));
  } finally {
    db.close();
  }
}

async function timeFloor(lakeDir: string): Promise<number> {
  const db = await openConfinedDuckDB(":memory:", { allowedPaths: [`${BENCH_DIR}/`], settings: { TimeZone: "UTC" } });
  try {
    const started = performance.now();
    await db.connection.run(`create table floor as ${floorSql(`${lakeDir}/pair=*/trade_date=*/hour=*/*.parquet`)}`);
    return (performance.now() - started) / 1000;
  } finally {
    db.close();
  }
}

if (import.meta.main) runTask("bench:refresh", main);
