/**
 * `deno task import` run as the real task (its deno.json permissions) against the local exchange's archive, started
 * in-process: the lake holds exactly the archive's rows and candles equal its klines; a re-run is a no-op and a
 * kill -9 loses or doubles nothing; live copies win over the archive's, which are reconciled; --fill-gaps heals a
 * trade-id gap; every archive fault fails in one line and publishes nothing; crafted symbols are refused; ms and µs
 * files, with or without a header, give the same rows.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { formatUnits, parseUnits } from "../../tasks/lib/decimal.ts";
import { sqlString } from "../../tasks/lib/duckdb.ts";
import { archiveCsvHeader, archiveCsvLine } from "../../tasks/lib/exchange/archive_csv.ts";
import type { ArchiveFaultKind } from "../../tasks/lib/exchange/archive_faults.ts";
import { archiveKlines, archiveTrades } from "../../tasks/lib/exchange/archive_trades.ts";
import type { TimeUnit } from "../../tasks/lib/exchange/encode.ts";
import type { Trade } from "../../tasks/lib/exchange/market.ts";
import { type ExchangeOptions, resolveExchangeOptions } from "../../tasks/lib/exchange/options.ts";
import { type Exchange, startExchange } from "../../tasks/lib/exchange/server.ts";
import { isArchiveFile } from "../../tasks/lib/lake/archive/archive_lake_files.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { refreshMarts } from "../../tasks/lib/warehouse/builder.ts";
import { candleValues, compareMinute, type MinuteValues } from "../../tasks/lib/warehouse/kline_compare.ts";
import { type FixtureTrade, writeLake } from "../helpers/lake.ts";
import { collectOutput, makeTestDir, runDenoTask, spawnTask, type TaskResult } from "../helpers/tasks.ts";

const SEED = 11;
const START_ID = 5_000_000;
// Not a divisor of a day in ms, so trades of µs files fall between milliseconds.
const TRADES_PER_DAY = 20_011;
const HOUR_US = 3_600_000_000;

// ---- paths, exchange, task ---------------------------------------------------------------------------------------

/** One test's lake, download cache, database and scratch folder, each where the task's permissions reach. */
interface TestPaths {
  /** LAKE_DIR as the task gets it (relative to the project). */
  lakeDir: string;
  /** The same, absolute. */
  lake: string;
  cacheDir: string;
  duckdbPath: string;
  /** For the exchange's zips and the test's own CSVs. */
  scratchDir: string;
}

/** Runs `test` with fresh paths, and removes them all afterwards, whatever happened. */
async function withTestPaths(test: (paths: TestPaths) => Promise<void>): Promise<void> {
  const id = crypto.randomUUID();
  const lakeDir = `data/parquet/test-${id}`;
  const cacheDir = `data/archive/test-${id}`;
  const dbDir = `data/duckdb/test-${id}`;
  const scratchDir = await makeTestDir("import");
  try {
    await test({
      lakeDir,
      lake: join(PROJECT_ROOT, lakeDir),
      cacheDir,
      duckdbPath: join(PROJECT_ROOT, dbDir, "crypto.duckdb"),
      scratchDir,
    });
  } finally {
    for (const dir of [lakeDir, cacheDir, dbDir]) {
      await Deno.remove(join(PROJECT_ROOT, dir), { recursive: true }).catch(() => {});
    }
    await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
  }
}

/** The exchange's options for an archive of generated days (no live trades), its zips kept in the test's folder. */
function archiveOptions(paths: TestPaths, options: ExchangeOptions): ExchangeOptions {
  return {
    port: 0,
    seed: SEED,
    startId: START_ID,
    rate: 0,
    archiveCacheDir: join(paths.scratchDir, "exchange-archive"),
    ...options,
  };
}

async function withExchange(options: ExchangeOptions, test: (exchange: Exchange) => Promise<void>): Promise<void> {
  const exchange = await startExchange(options);
  try {
    await test(exchange);
  } finally {
    await exchange.shutdown();
  }
}

function importEnv(paths: TestPaths, exchange: Exchange): Record<string, string> {
  return {
    BINANCE_DATA_URL: `http://127.0.0.1:${exchange.port}`,
    LAKE_DIR: paths.lakeDir,
    ARCHIVE_CACHE_DIR: paths.cacheDir,
  };
}

function runImport(paths: TestPaths, exchange: Exchange, args: string[]): Promise<TaskResult> {
  return runDenoTask(["import", ...args], importEnv(paths, exchange));
}

interface DaySummary {
  symbol: string;
  day: string;
  status: string;
  trades: number;
  alreadyInLake: number;
  disagreements: number;
  message?: string;
}

/** The import's final `import_summary` line. */
function summaryOf(result: TaskResult): { days: DaySummary[]; trades: number; failed: number } {
  const line = result.stdout.trim().split("\n").at(-1) ?? "";
  const summary = JSON.parse(line);
  assert.equal(summary.event, "import_summary", result.stdout);
  return summary;
}

function assertImported(result: TaskResult): void {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
}

function assertNoStackTrace(result: TaskResult): void {
  assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace:\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /unexpected failure|error: Uncaught/, result.stderr);
}

// ---- reading the lake and the marts ------------------------------------------------------------------------------

/** Every file under the lake's `pair=` folders (what readers glob), relative to the lake. */
async function visibleFiles(lake: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else found.push(relative(lake, path));
    }
  };
  for (const entry of await Array.fromAsync(Deno.readDir(lake)).catch(() => [])) {
    if (entry.isDirectory && entry.name.startsWith("pair=")) await walk(join(lake, entry.name));
  }
  return found.sort();
}

/** Each visible file's name, size and modification time. */
async function fileSnapshot(lake: string): Promise<string[]> {
  const files = await visibleFiles(lake);
  return await Promise.all(files.map(async (file) => {
    const info = await Deno.stat(join(lake, file));
    return `${file} ${info.size} ${info.mtime?.getTime()}`;
  }));
}

async function query(sql: string, path = ":memory:"): Promise<Record<string, string | null>[]> {
  const instance = await DuckDBInstance.create(path, path === ":memory:" ? {} : { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, string | null>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** `read_parquet` of every trade file of the lake, as the models' readers glob them. */
function lakeScan(lake: string): string {
  return `read_parquet(${sqlString(`${lake}/pair=*/**/*.parquet`)}, hive_partitioning = true, ` +
    "union_by_name = true, hive_types = {'pair': varchar, 'trade_date': date, 'hour': integer})";
}

/**
 * The lake's trades of `pair` (on `day`, when given) as `id price quantity time_us unit maker best provenance hour`
 * lines in id order: decimals as DuckDB prints DECIMAL(20, 8), times in µs since the epoch.
 */
async function lakeLines(lake: string, pair: string, day?: string, provenance?: string): Promise<string[]> {
  if ((await visibleFiles(lake)).length === 0) return [];
  const rows = await query(`
    select concat_ws(' ', trade_id, price::varchar, quantity::varchar, epoch_us(trade_time), time_unit,
      is_buyer_maker, coalesce(is_best_match::varchar, 'null'), provenance, lpad(hour::varchar, 2, '0')) as line
    from ${lakeScan(lake)}
    where pair = ${sqlString(pair)}
      ${day === undefined ? "" : `and trade_date = ${sqlString(day)}::date`}
      ${provenance === undefined ? "" : `and provenance = ${sqlString(provenance)}`}
    order by trade_id, provenance`);
  return rows.map((row) => row.line!);
}

/** A trade as `lakeLines` shows it, imported from a file in `unit` (ms truncates the time, as Binance does). */
function expectedLine(trade: Trade, unit: TimeUnit, bestMatch: boolean | null): string {
  const timeUs = unit === "ms" ? trade.timeUs - (trade.timeUs % 1000) : trade.timeUs;
  const hour = String(new Date(Math.floor(timeUs / 1000)).getUTCHours()).padStart(2, "0");
  return [
    trade.id,
    formatUnits(trade.price),
    formatUnits(trade.qty),
    timeUs,
    unit,
    trade.isBuyerMaker,
    bestMatch ?? "null",
    "archive",
    hour,
  ].join(" ");
}

/** Fails naming the first few differing lines, rather than printing two lists of 20,000 lines. */
function assertSameLines(actual: readonly string[], expected: readonly string[], what: string): void {
  const differing: string[] = [];
  for (let i = 0; i < Math.max(actual.length, expected.length) && differing.length < 5; i++) {
    if (actual[i] !== expected[i]) differing.push(`#${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
  assert.deepEqual(
    differing,
    [],
    `${what}: ${actual.length} lines, expected ${expected.length}; first differences:\n${differing.join("\n")}`,
  );
}

/** How many trades of `pair` the lake holds, and how many different ids. */
async function idStats(lake: string, pair: string): Promise<{ count: number; distinct: number }> {
  const [row] = await query(
    `select count(*)::varchar as count, count(distinct trade_id)::varchar as ids from ${lakeScan(lake)} ` +
      `where pair = ${sqlString(pair)}`,
  );
  return { count: Number(row!.count), distinct: Number(row!.ids) };
}

async function refresh(paths: TestPaths, nowMs: number): Promise<void> {
  const result = await refreshMarts({
    lakeDir: paths.lake,
    duckdbPath: paths.duckdbPath,
    modelsDir: join(PROJECT_ROOT, "models"),
    nowMs,
  });
  assert.ok(result.status === "built", JSON.stringify(result));
  const failing = result.tests.filter((test) => test.failingRows > 0);
  assert.deepEqual(failing.map((test) => `${test.name}: ${JSON.stringify(test.sample)}`), [], "the data tests pass");
}

function marts(paths: TestPaths, sql: string): Promise<Record<string, string | null>[]> {
  return query(sql, paths.duckdbPath);
}

/** A trade of a ms day as the live stream would have captured it. */
function fixtureOf(trade: Trade): FixtureTrade {
  return {
    pair: trade.symbol,
    id: trade.id,
    price: formatUnits(trade.price),
    qty: formatUnits(trade.qty),
    timeMs: trade.timeUs / 1000,
    buyerMaker: trade.isBuyerMaker,
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function dayMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

// ---- 1. a generated day ------------------------------------------------------------------------------------------

/** A candle or a kline as `open_time open high low close volume close_time quote_volume trade_count`. */
function klineLine(openTime: number, closeTime: number, values: MinuteValues): string {
  const { open, high, low, close, volume, quote_volume, trade_count } = values;
  return [openTime, ...[open, high, low, close, volume].map(formatUnits), closeTime, formatUnits(quote_volume)]
    .concat(String(trade_count)).join(" ");
}

Deno.test("import task brings generated days into the lake exactly as the archive files hold them, and their candles equal the days' klines", async () => {
  await withTestPaths(async (paths) => {
    // The last ms day and the first µs day of the spot archive.
    const days = ["2024-12-31", "2025-01-01"];
    const symbols = ["BTCUSDT", "ETHUSDT"];
    const options = archiveOptions(paths, {
      symbols,
      archive: { from: days[0]!, to: days[1]!, tradesPerDay: TRADES_PER_DAY },
    });
    const resolved = resolveExchangeOptions(options);
    await withExchange(options, async (exchange) => {
      const result = await runImport(paths, exchange, [
        "--symbols",
        symbols.join(","),
        "--from",
        days[0]!,
        "--to",
        days[1]!,
      ]);
      assertImported(result);
      const summary = summaryOf(result);
      assert.deepEqual(
        summary.days.map((day) => [day.symbol, day.day, day.status, day.trades, day.alreadyInLake]),
        symbols.flatMap((symbol) => days.map((day) => [symbol, day, "imported", TRADES_PER_DAY, 0])),
      );
      assert.equal(summary.trades, symbols.length * days.length * TRADES_PER_DAY);
      for (const symbol of symbols) {
        assert.match(
          result.stdout,
          new RegExp(`^${symbol} +${days[0]}  ${TRADES_PER_DAY} trades imported, 0 already`, "m"),
        );
      }
    });

    // Every row of every file, field by field: ids, exact decimals, times in the file's unit, provenance.
    for (const symbol of symbols) {
      for (const day of days) {
        const unit: TimeUnit = day < "2025-01-01" ? "ms" : "us";
        const expected = [...archiveTrades(resolved, symbol, day)].map((trade) => expectedLine(trade, unit, true));
        assertSameLines(await lakeLines(paths.lake, symbol, day), expected, `${symbol} ${day}`);
      }
    }
    const usTimes = (await lakeLines(paths.lake, "BTCUSDT", days[1])).map((line) => Number(line.split(" ")[3]));
    assert.ok(usTimes.some((us) => us % 1000 !== 0), "the µs day keeps times below the millisecond");

    // Candles against the klines the archive's trades give, compared as the reconcile task compares them (quote
    // volumes truncated to 8 decimals), plus the open and close times in the file's unit.
    await refresh(paths, dayMs("2025-01-02") + HOUR_US / 1000);
    for (const symbol of symbols) {
      for (const day of days) {
        const scale = day < "2025-01-01" ? 1 : 1000;
        const rows = await marts(
          paths,
          `select epoch_ms(minute_at) as open_ms, open::varchar as open, high::varchar as high, low::varchar as low,
             close::varchar as close, volume::varchar as volume, quote_volume::varchar as quote_volume,
             trade_count::varchar as trade_count, taker_buy_volume::varchar as taker_buy_volume,
             taker_buy_quote_volume::varchar as taker_buy_quote_volume
           from marts.fct_candles_1m
           where pair = ${sqlString(symbol)} and minute_at::date = ${sqlString(day)}::date
           order by minute_at`,
        );
        const klines = archiveKlines(resolved, symbol, day);
        assert.equal(klines.length, 1440, "every minute of the day traded");
        const ours = rows.map((row) => {
          const values = candleValues(row as Parameters<typeof candleValues>[0]);
          const openMs = Number(row.open_ms);
          return { openMs, values, line: klineLine(openMs * scale, (openMs + 60_000) * scale - 1, values) };
        });
        const theirs = klines.map((kline) => {
          const [openTime, open, high, low, close, volume, closeTime, quoteVolume, count, buyBase, buyQuote] = kline;
          const values: MinuteValues = {
            open: parseUnits(open),
            high: parseUnits(high),
            low: parseUnits(low),
            close: parseUnits(close),
            volume: parseUnits(volume),
            quote_volume: parseUnits(quoteVolume),
            trade_count: count,
            taker_buy_volume: parseUnits(buyBase),
            taker_buy_quote_volume: parseUnits(buyQuote),
          };
          return { values, line: klineLine(openTime, closeTime, values) };
        });
        assertSameLines(ours.map((c) => c.line), theirs.map((k) => k.line), `${symbol} ${day} candles`);
        const mismatched = ours.filter((candle, i) =>
          compareMinute(candle.values, theirs[i]?.values).status !== "match"
        );
        assert.deepEqual(mismatched.map((candle) => candle.openMs), [], "compareMinute() finds every minute a match");
      }
    }
  });
});

// ---- 2. re-run and kill -9 ---------------------------------------------------------------------------------------

Deno.test("import task run again is a no-op, and after kill -9 at a random moment a re-run leaves every trade exactly once", async () => {
  await withTestPaths(async (paths) => {
    const days = ["2024-08-01", "2024-08-02", "2024-08-03", "2024-08-04"];
    const perDay = 50_000;
    const options = archiveOptions(paths, {
      symbols: ["BTCUSDT"],
      archive: { from: days[0]!, to: days.at(-1)!, tradesPerDay: perDay },
    });
    const resolved = resolveExchangeOptions(options);
    const args = (from: string, to: string) => ["--symbols", "BTCUSDT", "--from", from, "--to", to];
    await withExchange(options, async (exchange) => {
      const startedMs = performance.now();
      assertImported(await runImport(paths, exchange, args(days[0]!, days[0]!)));
      const oneDayMs = performance.now() - startedMs;
      const before = await fileSnapshot(paths.lake);
      assert.ok(before.length >= 24, `one file per hour: ${before.length}`);

      const again = await runImport(paths, exchange, args(days[0]!, days[0]!));
      assertImported(again);
      assert.match(again.stdout, new RegExp(`^BTCUSDT +${days[0]}  already imported \\(${perDay} trades\\)`, "m"));
      assert.deepEqual(summaryOf(again).days.map((day) => day.status), ["already_imported"]);
      assert.deepEqual(await fileSnapshot(paths.lake), before, "same files, sizes and modification times");

      // kill -9 twice, each at a random moment of an import of the other days, then run it to the end.
      for (let round = 0; round < 2; round++) {
        const child = spawnTask("import", importEnv(paths, exchange), args(days[1]!, days.at(-1)!));
        const output = collectOutput(child);
        const delayMs = Math.round(Math.random() * oneDayMs * (days.length - 1));
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        try {
          child.kill("SIGKILL");
        } catch {
          // it finished before the kill: the re-run below has nothing left to do
        }
        const status = await child.status;
        await output.done;
        const killed = `round ${round}, killed after ${delayMs} ms (exit ${status.code}, ${status.signal})`;

        // What readers see right after the kill: whole files under their final names, no trade twice.
        const visible = await visibleFiles(paths.lake);
        assert.deepEqual(visible.filter((file) => !isArchiveFile(file.split("/").at(-1)!)), [], killed);
        const seen = await idStats(paths.lake, "BTCUSDT");
        assert.equal(seen.count, seen.distinct, `${killed}: no trade twice`);
        assert.ok(seen.count >= perDay, `${killed}: the first day is still there`);
      }

      const rerun = await runImport(paths, exchange, args(days[0]!, days.at(-1)!));
      assertImported(rerun);
      assert.deepEqual(summaryOf(rerun).days.map((day) => day.day), days);
    });

    const stats = await idStats(paths.lake, "BTCUSDT");
    assert.deepEqual(stats, { count: days.length * perDay, distinct: days.length * perDay });
    const expected = days.flatMap((day) =>
      [...archiveTrades(resolved, "BTCUSDT", day)].map((trade) => expectedLine(trade, "ms", true))
    );
    assertSameLines(await lakeLines(paths.lake, "BTCUSDT"), expected, "every trade exactly once");
    const visible = await visibleFiles(paths.lake);
    assert.deepEqual(visible.filter((file) => !isArchiveFile(file.split("/").at(-1)!)), [], "no stray file");
    const staging = await Array.fromAsync(Deno.readDir(join(paths.lake, "_archive_staging"))).catch(() => []);
    assert.deepEqual(staging.map((entry) => entry.name), [], "the staging folder is empty");
  });
});

// ---- 3. overlap with live ----------------------------------------------------------------------------------------

Deno.test("import task over hours captured live keeps the live copies and reports the one row the archive disagrees on", async () => {
  await withTestPaths(async (paths) => {
    const day = "2024-08-05";
    const trades = [
      ...archiveTrades(
        {
          seed: SEED,
          startId: START_ID,
          archiveTimeUnit: "auto",
          archive: { from: day, to: day, tradesPerDay: TRADES_PER_DAY },
        },
        "BTCUSDT",
        day,
      ),
    ];
    // The stream captured 10:00-12:00; the archive's copy of one of those trades has another price.
    const startUs = dayMs(day) * 1000;
    const live = trades.filter((t) => t.timeUs >= startUs + 10 * HOUR_US && t.timeUs < startUs + 12 * HOUR_US);
    const altered = live[100]!;
    const csvPath = join(paths.scratchDir, `BTCUSDT-trades-${day}.csv`);
    const format = { header: false, unit: "ms" } as const;
    const served = trades.map((t) => t.id === altered.id ? { ...t, price: t.price + 100_000_000n } : t);
    await Deno.writeTextFile(csvPath, served.map((t) => archiveCsvLine(t, format)).join(""));
    await writeLake(paths.lake, live.map(fixtureOf), { writtenAtMs: dayMs(day) + 12.1 * 3_600_000 });
    await withExchange(archiveOptions(paths, { symbols: ["BTCUSDT"], archiveCsv: [csvPath] }), async (exchange) => {
      const result = await runImport(paths, exchange, ["--symbols", "BTCUSDT", "--from", day, "--to", day]);
      assertImported(result);
      const [summary] = summaryOf(result).days;
      assert.deepEqual(
        summary && [summary.status, summary.trades, summary.alreadyInLake, summary.disagreements],
        ["imported", TRADES_PER_DAY, live.length, 1],
      );
      assert.match(
        result.stdout,
        new RegExp(`${TRADES_PER_DAY} trades imported, ${live.length} already in the lake, 1 disagreements`),
      );
    });

    await refresh(paths, dayMs(day) + 86_400_000 + 3_600_000);
    const [staged] = await marts(
      paths,
      `select count(*)::varchar as trades, count(distinct trade_id)::varchar as ids,
         count(*) filter (where provenance = 'live')::varchar as live,
         any_value(price::varchar || ' ' || provenance) filter (where trade_id = ${altered.id}) as altered
       from staging.stg_trades where pair = 'BTCUSDT'`,
    );
    assert.deepEqual(staged, {
      trades: String(TRADES_PER_DAY),
      ids: String(TRADES_PER_DAY),
      live: String(live.length),
      altered: `${formatUnits(altered.price)} live`,
    });
    const reconciliation = await marts(
      paths,
      `select pair, trade_date::varchar as trade_date, archive_trades::varchar as archive_trades,
         live_trades::varchar as live_trades, overlapping_trades::varchar as overlapping_trades,
         disagreeing_trades::varchar as disagreeing_trades, price_mismatches::varchar as price_mismatches,
         quantity_mismatches::varchar as quantity_mismatches, trade_time_mismatches::varchar as trade_time_mismatches,
         is_buyer_maker_mismatches::varchar as is_buyer_maker_mismatches,
         is_best_match_mismatches::varchar as is_best_match_mismatches, differing_fields::varchar as differing_fields
       from marts.fct_archive_reconciliation`,
    );
    assert.deepEqual(reconciliation, [{
      pair: "BTCUSDT",
      trade_date: day,
      archive_trades: String(TRADES_PER_DAY),
      live_trades: String(live.length),
      overlapping_trades: String(live.length),
      disagreeing_trades: "1",
      price_mismatches: "1",
      quantity_mismatches: "0",
      trade_time_mismatches: "0",
      is_buyer_maker_mismatches: "0",
      is_best_match_mismatches: "0",
      differing_fields: "[price]",
    }]);
  });
});

// ---- 4. --fill-gaps ----------------------------------------------------------------------------------------------

Deno.test("import task --fill-gaps imports the day of a trade-id gap, and fct_trade_gaps shows it healed by the archive", async () => {
  await withTestPaths(async (paths) => {
    const day = "2024-08-06";
    const options = archiveOptions(paths, {
      symbols: ["BTCUSDT"],
      archive: { from: day, to: day, tradesPerDay: TRADES_PER_DAY },
    });
    const trades = [...archiveTrades(resolveExchangeOptions(options), "BTCUSDT", day)];
    // The stream lost 300 trades around midday; everything else of the day was captured.
    const gapFrom = trades[10_000]!.id;
    const gapTo = gapFrom + 299;
    const inGap = (t: Trade) => t.id >= gapFrom && t.id <= gapTo;
    const nowMs = dayMs(day) + 86_400_000 + 3_600_000;
    const gaps = () =>
      marts(
        paths,
        "select from_trade_id || '-' || to_trade_id || ' ' || missing_count || ' ' || status || ' ' || " +
          "coalesce(healed_by, '-') as gap from marts.fct_trade_gaps where pair = 'BTCUSDT' order by from_trade_id",
      );
    await writeLake(paths.lake, trades.filter((t) => !inGap(t)).map(fixtureOf), { writtenAtMs: nowMs - 86_400_000 });
    await refresh(paths, nowMs);
    assert.deepEqual(await gaps(), [{ gap: `${gapFrom}-${gapTo} 300 open -` }]);

    await withExchange(options, async (exchange) => {
      const result = await runImport(paths, exchange, ["--symbols", "BTCUSDT", "--fill-gaps"]);
      assertImported(result);
      assert.match(result.stderr, new RegExp(`^import: BTCUSDT: gaps in the lake cover 1 day\\(s\\): ${day}$`, "m"));
      const [summary] = summaryOf(result).days;
      assert.deepEqual(
        summary && [summary.day, summary.status, summary.trades, summary.alreadyInLake, summary.disagreements],
        [day, "imported", TRADES_PER_DAY, TRADES_PER_DAY - 300, 0],
      );

      const again = await runImport(paths, exchange, ["--symbols", "BTCUSDT", "--fill-gaps"]);
      assertImported(again);
      assert.match(again.stderr, /^import: BTCUSDT: no trade-id gap in the lake$/m);
      assert.match(again.stdout, /^import: nothing to import$/m);
    });

    const filled = (await lakeLines(paths.lake, "BTCUSDT", day, "archive")).filter((line) => {
      const id = Number(line.split(" ")[0]);
      return id >= gapFrom && id <= gapTo;
    });
    assertSameLines(filled, trades.filter(inGap).map((t) => expectedLine(t, "ms", true)), "the gap's trades");
    await refresh(paths, nowMs + 60_000);
    assert.deepEqual(await gaps(), [{ gap: `${gapFrom}-${gapTo} 300 healed archive` }]);
  });
});

// ---- 5. archive faults -------------------------------------------------------------------------------------------

/** What a failed download's message ends with. */
const RETRY = `${escapeRegExp("; run the import again (it takes only what is missing)")}$`;
const FAULTS: [ArchiveFaultKind, RegExp][] = [
  [
    "wrong_checksum",
    new RegExp(
      `: checksum mismatch: the \\.CHECKSUM says [0-9a-f]{64}, the \\d+ bytes downloaded hash to [0-9a-f]{64}${RETRY}`,
    ),
  ],
  ["not_found", /: not in the archive \(HTTP 404\): http:\S+; check the symbol and that the day is after its listing$/],
  [
    "truncated",
    /: (?:not a readable zip|the zip is (?:damaged or )?cut short).*; run the import again, and if it repeats the archive's file itself is broken$/,
  ],
  ["slow", new RegExp(`: cannot download http:\\S+: nothing received for 1 s after \\d+ bytes${RETRY}`)],
  [
    "drop",
    new RegExp(
      `: cannot download http:\\S+: the connection (?:dropped after \\d+ bytes|ended after \\d+ of \\d+ bytes)`,
    ),
  ],
];

Deno.test("import task fails in one line naming the file on every archive fault, publishing nothing and keeping what was imported", async () => {
  await withTestPaths(async (paths) => {
    const [good, faulty] = ["2024-08-07", "2024-08-08"] as const;
    const zip = `BTCUSDT-trades-${faulty}.zip`;
    const options = archiveOptions(paths, {
      symbols: ["BTCUSDT"],
      archive: { from: good, to: faulty, tradesPerDay: TRADES_PER_DAY },
      archiveStallMs: 10_000,
    });
    const resolved = resolveExchangeOptions(options);
    const args = ["--symbols", "BTCUSDT", "--from", good, "--to", faulty, "--stall-timeout", "1"];
    const goodLines = [...archiveTrades(resolved, "BTCUSDT", good)].map((trade) => expectedLine(trade, "ms", true));
    await withExchange(options, async (exchange) => {
      const admin = async (method: string, query: string) => {
        const response = await fetch(`http://127.0.0.1:${exchange.port}/admin/archive-fault?${query}`, { method });
        assert.equal(response.status, 200, await response.text());
      };
      assertImported(await runImport(paths, exchange, ["--symbols", "BTCUSDT", "--from", good, "--to", good]));
      const before = await fileSnapshot(paths.lake);

      for (const [kind, reason] of FAULTS) {
        await admin("POST", `kind=${kind}&date=${faulty}`);
        const result = await runImport(paths, exchange, args);
        assert.equal(result.code, 1, `${kind}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
        assertNoStackTrace(result);
        const days = summaryOf(result).days;
        assert.deepEqual(days.map((day) => [day.day, day.status]), [[good, "already_imported"], [faulty, "failed"]]);
        const message = days[1]!.message!;
        assert.ok(message.startsWith(`${zip}: `), `${kind}: names the file: ${message}`);
        assert.match(message, reason, kind);
        assert.doesNotMatch(message, /\n/, kind);
        assert.match(result.stdout, new RegExp(`^BTCUSDT +${faulty}  FAILED: ${escapeRegExp(message)}$`, "m"), kind);
        const said = result.stderr.split("\n").filter((line) => line === `import: ${message}`);
        assert.equal(said.length, 1, `${kind}: said once on stderr:\n${result.stderr}`);

        // Nothing of the faulty file is published; the day imported before is whole and untouched.
        const published = (await visibleFiles(paths.lake)).filter((file) => file.includes(`trade_date=${faulty}`));
        assert.deepEqual(published, [], kind);
        await assert.rejects(
          Deno.stat(join(paths.lake, "_archive_imports", "spot", "BTCUSDT", `${faulty}.json`)),
          Deno.errors.NotFound,
        );
        assert.deepEqual(await fileSnapshot(paths.lake), before, kind);
        assertSameLines(await lakeLines(paths.lake, "BTCUSDT", good), goodLines, `${kind}: ${good}`);
        await admin("DELETE", `date=${faulty}`);
      }
      const faults = exchange.stats().archive.faults;
      assert.ok(Object.values(faults).every((count) => count > 0), `every fault was served: ${JSON.stringify(faults)}`);

      // Once the archive serves the file whole, the same command imports it.
      const healed = await runImport(paths, exchange, args);
      assertImported(healed);
      assert.deepEqual(summaryOf(healed).days.map((day) => day.status), ["already_imported", "imported"]);
    });
    const faultyLines = [...archiveTrades(resolved, "BTCUSDT", faulty)].map((trade) => expectedLine(trade, "ms", true));
    assertSameLines(await lakeLines(paths.lake, "BTCUSDT"), [...goodLines, ...faultyLines], "both days whole");
  });
});

// ---- 6. crafted symbols ------------------------------------------------------------------------------------------

Deno.test("import task refuses a symbol that could name a path in one line, fetching and writing nothing", async () => {
  await withTestPaths(async (paths) => {
    const options = archiveOptions(paths, {
      symbols: ["BTCUSDT"],
      archive: { from: "2024-08-01", to: "2024-08-01", tradesPerDay: 10 },
    });
    await withExchange(options, async (exchange) => {
      for (const symbols of ["../../etc", "BTC/USDT", "..", "BTCUSDT,../x", "pair=X"]) {
        const result = await runImport(paths, exchange, ["--symbols", symbols, "--from", "2024-08-01"]);
        assert.equal(result.code, 2, `${symbols}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
        assert.equal(
          result.stderr,
          `import: Cannot use --symbols "${symbols}": expected comma-separated symbols of 2-20 letters or digits, ` +
            "e.g. BTCUSDT,ETHUSDT\n",
        );
        assert.equal(result.stdout, "", symbols);
        // The lake and the download cache, the only places the task may write, were not even created.
        await assert.rejects(Deno.stat(paths.lake), Deno.errors.NotFound, symbols);
        await assert.rejects(Deno.stat(join(PROJECT_ROOT, paths.cacheDir)), Deno.errors.NotFound, symbols);
      }
      const served = exchange.stats().archive;
      assert.deepEqual([served.checksums, served.zips, served.missing], [0, 0, 0], "nothing was asked of the archive");
    });
  });
});

// ---- 7. time units and headers -----------------------------------------------------------------------------------

Deno.test("import task gives the same lake rows from ms and µs files, with and without a header", async () => {
  await withTestPaths(async (paths) => {
    const day = "2024-08-09";
    // µs trades: a ms file holds their times truncated, a µs file exactly.
    const generation = { from: day, to: day, tradesPerDay: TRADES_PER_DAY };
    const trades = [
      ...archiveTrades({ seed: SEED, startId: START_ID, archiveTimeUnit: "us", archive: generation }, "BTCUSDT", day),
    ];
    assert.ok(trades.some((trade) => trade.timeUs % 1000 !== 0), "some trades fall between milliseconds");
    // One pair per way of writing the same trades.
    const files = [
      { pair: "MSPLAIN", unit: "ms", header: false },
      { pair: "USPLAIN", unit: "us", header: false },
      { pair: "MSHEADER", unit: "ms", header: true },
      { pair: "USHEADER", unit: "us", header: true },
    ] as const;
    const csvs: string[] = [];
    for (const { pair, unit, header } of files) {
      const path = join(paths.scratchDir, `${pair}-trades-${day}.csv`);
      const format = { header, unit };
      await Deno.writeTextFile(path, archiveCsvHeader(format) + trades.map((t) => archiveCsvLine(t, format)).join(""));
      csvs.push(path);
    }
    const head = (await Deno.readTextFile(csvs[3]!)).split("\n", 2);
    assert.equal(head[0], "id,price,qty,quote_qty,time,is_buyer_maker");
    assert.match(head[1]!, /^\d+,[\d.]+,[\d.]+,[\d.]+,\d{16},(?:true|false)$/);

    await withExchange(archiveOptions(paths, { symbols: ["BTCUSDT"], archiveCsv: csvs }), async (exchange) => {
      const pairs = files.map((file) => file.pair).join(",");
      const result = await runImport(paths, exchange, ["--symbols", pairs, "--from", day, "--to", day]);
      assertImported(result);
      assert.deepEqual(summaryOf(result).days.map((d) => [d.symbol, d.trades]), [
        ["MSHEADER", TRADES_PER_DAY],
        ["MSPLAIN", TRADES_PER_DAY],
        ["USHEADER", TRADES_PER_DAY],
        ["USPLAIN", TRADES_PER_DAY],
      ]);
    });

    const rows = new Map<string, string[]>();
    for (const { pair, unit, header } of files) {
      // Spot files (no header) carry isBestMatch; futures-style files (a header) do not.
      const lines = await lakeLines(paths.lake, pair, day);
      assertSameLines(lines, trades.map((trade) => expectedLine(trade, unit, header ? null : true)), pair);
      rows.set(pair, lines);
    }
    // Apart from the time's precision and the flag only spot files carry, every row is the same in all four.
    const common = (pair: string) =>
      rows.get(pair)!.map((line) => {
        const [id, price, quantity, timeUs, , maker, , provenance, hour] = line.split(" ");
        return [id, price, quantity, Math.floor(Number(timeUs) / 1000), maker, provenance, hour].join(" ");
      });
    for (const { pair } of files.slice(1)) assert.deepEqual(common(pair), common("MSPLAIN"), pair);
    assert.deepEqual(
      rows.get("USHEADER")!.map((line) => line.split(" ")[3]),
      rows.get("USPLAIN")!.map((line) => line.split(" ")[3]),
    );
  });
});

Deno.test("import task --market usdm brings the futures archive into LAKE_DIR/_usdm, MARKET trades whose skipped ids are vouched for", async () => {
  await withTestPaths(async (paths) => {
    const days = ["2024-03-04", "2024-03-05"];
    const options = archiveOptions(paths, {
      market: "usdm",
      nonMarketRate: 0.01,
      symbols: ["BTCUSDT"],
      archive: { from: days[0]!, to: days[1]!, tradesPerDay: 5_003 },
    });
    const resolved = resolveExchangeOptions(options);
    await withExchange(options, async (exchange) => {
      const args = ["--market", "usdm", "--symbols", "BTCUSDT", "--from", days[0]!, "--to", days[1]!];
      // MARKET=spot in the environment: the flag wins.
      const result = await runDenoTask(["import", ...args], { ...importEnv(paths, exchange), MARKET: "spot" });
      assertImported(result);
      const expected = days.flatMap((day) => [...archiveTrades(resolved, "BTCUSDT", day)]);
      assert.equal(summaryOf(result).trades, expected.length);
      const usdmLake = join(paths.lake, "_usdm");
      // The spot dataset's readers see nothing of it.
      assert.deepEqual(await visibleFiles(paths.lake), []);
      assert.ok((await visibleFiles(usdmLake)).length > 0);
      await Deno.stat(join(usdmLake, "_archive_imports", "usdm", "BTCUSDT", `${days[0]}.json`));

      const rows = await query(`
        select trade_id::varchar as id, trade_type, source_prev_trade_id::varchar as prev, is_best_match::varchar as best,
          time_unit
        from ${lakeScan(usdmLake)} order by trade_id`);
      assert.deepEqual(rows.map((row) => Number(row.id)), expected.map((trade) => trade.id));
      assert.ok(rows.every((row) => row.trade_type === "MARKET" && row.best === null && row.time_unit === "ms"));
      // The previous line's id of each day's file; a file's first line has none.
      const firstOfDay = new Set(days.map((day) => archiveTrades(resolved, "BTCUSDT", day).next().value!.id));
      rows.forEach((row, i) => {
        const previous = firstOfDay.has(Number(row.id)) ? null : rows[i - 1]!.id;
        assert.equal(row.prev, previous, `trade ${row.id}`);
      });
      const skips = expected.filter((trade, i) => i > 0 && trade.id - expected[i - 1]!.id > 1).length;
      assert.ok(skips > 0, "non-market trades leave ids out of the archive");

      // Every skip inside a file is vouched for: --fill-gaps finds nothing but the ids between the two files.
      const fill = await runDenoTask(["import", "--fill-gaps", "--symbols", "BTCUSDT"], {
        ...importEnv(paths, exchange),
        MARKET: "usdm",
      });
      assertImported(fill);
      const lastOfFirstDay = [...archiveTrades(resolved, "BTCUSDT", days[0]!)].at(-1)!.id;
      const between = [...firstOfDay].some((id) => id - lastOfFirstDay > 1);
      const said = fill.stdout + fill.stderr;
      assert.match(said, between ? /gaps in the lake cover/ : /BTCUSDT: no trade-id gap in the lake/, said);
    });
  });
});
