import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { formatUnits, multiplyUnits } from "../../tasks/lib/decimal.ts";
import { startExchange } from "../../tasks/lib/exchange/server.ts";
import { fetchHistoricalTrades } from "../../tasks/lib/ingest/backfill.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { openConfinedDuckDB } from "../../tasks/lib/duckdb.ts";
import { refreshMarts } from "../../tasks/lib/warehouse/builder.ts";
import { formatReport, reconcileCandles, type ReconcileReport } from "../../tasks/lib/warehouse/reconcile.ts";
import { databaseFiles, tryLockRefresh } from "../../tasks/lib/warehouse/publish.ts";
import { type FixtureTrade, writeLake } from "../helpers/lake.ts";
import { GOLDEN_NOW_MS, writeFuturesLake, writeGoldenLake } from "../helpers/golden_lake.ts";
import { updatePublishedDatabase } from "../../tasks/lib/warehouse/builder.ts";
import { reconcileRestUrl } from "../../tasks/reconcile.ts";
import { taskArgs } from "../helpers/tasks.ts";

const T0 = Date.UTC(2025, 0, 1, 0, 0); // the replayed trades happen in the minutes 00:00, 00:01 and 00:03
const PAIR = "BTCUSDT";

Deno.test("reconcile task matches every closed minute of the local exchange, then flags a trade dropped from the lake", async () => {
  const id = crypto.randomUUID();
  const lakeDir = `data/parquet/test-${id}`;
  const dbDir = `data/duckdb/test-${id}`;
  const duckdbPath = `${dbDir}/crypto.duckdb`;
  await Deno.mkdir(`${PROJECT_ROOT}/${dbDir}`, { recursive: true });
  const csvPath = `${PROJECT_ROOT}/${dbDir}/trades.csv`;
  await Deno.writeTextFile(csvPath, replayCsv());
  const exchange = await startExchange({ port: 0, replay: { path: csvPath, symbol: PAIR, speed: 0 } });
  try {
    const restUrl = new URL(`http://127.0.0.1:${exchange.port}`);
    const env = { BINANCE_REST_URL: restUrl.href, DUCKDB_PATH: duckdbPath, LAKE_DIR: lakeDir };
    await waitFor(() => exchange.stats().replay?.finished === true);

    const notBuilt = await reconcile(env);
    assert.equal(notBuilt.code, 0, notBuilt.stderr);
    assert.match(notBuilt.stdout, /run deno task refresh first/);

    // The lake holds what the exchange serves over REST, as the producer's backfill would fetch it.
    const trades = await exchangeTrades(restUrl);
    assert.equal(trades.length, 120);
    await writeLake(`${PROJECT_ROOT}/${lakeDir}`, trades);
    await refresh(lakeDir, duckdbPath);

    const badFlag = await reconcile(env, ["--max-minutes", "0"]);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /^reconcile: Cannot use --max-minutes "0": expected a whole number from 1 to/);

    const closedUrl = `http://127.0.0.1:${closedPort()}`;
    const unreachable = await reconcile({ ...env, BINANCE_REST_URL: closedUrl });
    assert.equal(unreachable.code, 1);
    assert.ok(
      unreachable.stderr.startsWith(`reconcile: Cannot check klines at BINANCE_REST_URL=${closedUrl}/: nothing`),
      unreachable.stderr,
    );
    assert.equal(unreachable.stderr.trim().split("\n").length, 1, unreachable.stderr);

    const first = await reconcile(env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^reconcile: checked 4 minutes of 1 pair in 1 klines request: 4 match, 0 mismatch, /);
    const matched = await readReconciliation(duckdbPath);
    assert.deepEqual(matched.map((row) => [row.minute, row.status, row.mismatched_fields, row.checks]), [
      ["00:00", "match", "", 1],
      ["00:01", "match", "", 1],
      ["00:02", "match", "", 1], // neither side traded: the exchange's flat kline against no candle
      ["00:03", "match", "", 1],
    ]);

    // A run while a refresh holds the lock leaves it alone.
    const lock = await tryLockRefresh(databaseFiles(`${PROJECT_ROOT}/${duckdbPath}`));
    try {
      const locked = await reconcile(env);
      assert.equal(locked.code, 0, locked.stderr);
      assert.match(locked.stdout, /a refresh or reconcile is running/);
    } finally {
      lock!.close();
    }

    // Lose one taker-buy trade of 00:01 that sets neither its open, close, high nor low.
    const dropped = droppableTrade(trades, T0 + 60_000);
    await writeLake(`${PROJECT_ROOT}/${lakeDir}`, trades.filter((trade) => trade.id !== dropped.id));
    await refresh(lakeDir, duckdbPath);
    // The health mart shows what reconcile found: every checked minute of the window matched (so far).
    assert.deepEqual(
      await queryDatabase(
        duckdbPath,
        `select klines_checked::integer as checked, kline_match_rate as rate from marts.fct_pipeline_health_5m
         where pair = '${PAIR}' and klines_checked > 0`,
      ),
      [{ checked: 4, rate: 1 }],
    );

    const second = await reconcile(env, ["--fail-on-mismatch"]);
    assert.equal(second.code, 1, `--fail-on-mismatch exits 1 on a mismatch\n${second.stdout}${second.stderr}`);
    const qty = dropped.qty;
    const quote = formatUnits(multiplyUnits(units(dropped.price), units(qty)));
    assert.match(second.stdout, /^reconcile: checked 1 minute of 1 pair in 1 klines request: 0 match, 1 mismatch, /);
    assert.ok(
      second.stdout.includes(`  BTCUSDT 2025-01-01 00:01 mismatch: volume ours `) &&
        second.stdout.includes(`(-${qty}), quote_volume ours `) &&
        second.stdout.includes(`trade_count ours 39 exchange 40 (-1)`),
      second.stdout,
    );
    const rows = await readReconciliation(duckdbPath);
    const minute = rows.find((row) => row.minute === "00:01")!;
    assert.equal(minute.status, "mismatch");
    assert.equal(minute.mismatched_fields, "volume,quote_volume,trade_count,taker_buy_volume,taker_buy_quote_volume");
    assert.equal(minute.checks, 2);
    const differences = JSON.parse(minute.differences);
    assert.equal(differences.volume.difference, `-${qty}`);
    assert.equal(differences.quote_volume.difference, `-${quote}`);
    assert.equal(differences.taker_buy_volume.difference, `-${qty}`);
    assert.deepEqual(differences.trade_count, { ours: 39, exchange: 40, difference: -1 });
    assert.deepEqual(rows.filter((row) => row.status !== "match").map((row) => row.minute), ["00:01"]);
  } finally {
    await exchange.shutdown();
    for (const dir of [lakeDir, dbDir]) {
      await Deno.remove(`${PROJECT_ROOT}/${dir}`, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("reconcileCandles() records what it fetched before a 429, rechecks a mismatch up to --max-checks, and again once the candle changes", async () => {
  const db = await openConfinedDuckDB(":memory:", { allowedPaths: [], settings: { TimeZone: "UTC" } });
  try {
    const connection = db.connection;
    const model = await Deno.readTextFile(`${PROJECT_ROOT}/models/marts/fct_kline_reconciliation.sql`);
    await connection.run(`
      create schema marts; create schema meta;
      create table meta.refresh_runs as select timestamp '2025-01-01 01:00:00' as started_at;
      create table marts.fct_kline_reconciliation as ${model};
      create table marts.fct_candles_1m as
      select 'spot' as market, pair, minute_at::timestamp as minute_at, price::decimal(20, 8) as open, price::decimal(20, 8) as high,
        price::decimal(20, 8) as low, close::decimal(20, 8) as close, 1::decimal(38, 8) as volume,
        price::decimal(38, 16) as quote_volume, 1::bigint as trade_count, 0::decimal(38, 8) as taker_buy_volume,
        0::decimal(38, 16) as taker_buy_quote_volume
      from (values
        ('BTCUSDT', '2025-01-01 00:00:00', 100, 100),
        ('BTCUSDT', '2025-01-01 00:01:00', 100, 101),
        ('ETHUSDT', '2025-01-01 00:00:00', 50, 50)
      ) as candles (pair, minute_at, price, close)`);
    // The exchange: every minute a single trade at the price, so close = open (our BTCUSDT 00:01 says 101).
    const prices: Record<string, number> = { BTCUSDT: 100, ETHUSDT: 50 };
    let throttleEth = true;
    const fakeFetch = ((input: URL) => {
      const params = input.searchParams;
      const pair = params.get("symbol")!;
      if (pair === "ETHUSDT" && throttleEth) {
        return Promise.resolve(new Response("{}", { status: 429, headers: { "Retry-After": "30" } }));
      }
      const first = Number(params.get("startTime"));
      const price = `${prices[pair]}.00000000`;
      return Promise.resolve(Response.json(
        Array.from({ length: Number(params.get("limit")) }, (_, i) => {
          const open = first + i * 60_000;
          return [
            open,
            price,
            price,
            price,
            price,
            "1.00000000",
            open + 59_999,
            price,
            1,
            "0.00000000",
            "0.00000000",
            "0",
          ];
        }),
      ));
    }) as typeof fetch;
    const run = async () => {
      const report = await reconcileCandles(connection, {
        restUrl: new URL("http://127.0.0.1:9"),
        nowMs: Date.UTC(2025, 0, 1, 2),
        settleSeconds: 60,
        maxMinutes: 100,
        maxChecks: 2,
        fetchImpl: fakeFetch,
      });
      assert.equal(report.status, "checked");
      return report as Extract<ReconcileReport, { status: "checked" }>;
    };
    const table = async () =>
      (await connection.runAndReadAll(
        `select pair || ' ' || strftime(minute_at, '%H:%M') || ' ' || status || ' ' || checks as row
         from marts.fct_kline_reconciliation order by pair, minute_at`,
      )).getRowObjectsJson().map((row) => row.row);

    const throttled = await run();
    assert.deepEqual(throttled.rateLimited, { status: 429, retryAfterMs: 30_000 });
    assert.equal(throttled.deferredMinutes, 1);
    assert.match(formatReport(throttled), /1 minute left for the next run; stopped early: the exchange answered 429/);
    assert.deepEqual(await table(), ["BTCUSDT 00:00 match 1", "BTCUSDT 00:01 mismatch 1"]);

    throttleEth = false;
    const second = await run();
    assert.deepEqual(second.results.map((r) => `${r.reason} ${r.pair} ${r.status}`), [
      "new ETHUSDT match", // requests go oldest first: ETHUSDT 00:00 before BTCUSDT 00:01
      "recheck BTCUSDT mismatch",
    ]);
    assert.deepEqual(await table(), ["BTCUSDT 00:00 match 1", "BTCUSDT 00:01 mismatch 2", "ETHUSDT 00:00 match 1"]);

    const third = await run();
    assert.equal(third.results.length, 0, "checked twice with the same candle: not due again");
    assert.match(formatReport(third), /^reconcile: nothing to check/);

    // A refresh repairs the candle: due again, whatever the count.
    await connection.run(`update marts.fct_candles_1m set close = 100 where pair = 'BTCUSDT'`);
    const repaired = await run();
    assert.deepEqual(repaired.results.map((r) => `${r.reason} ${r.pair} ${r.status}`), ["changed BTCUSDT match"]);
    assert.deepEqual(await table(), ["BTCUSDT 00:00 match 1", "BTCUSDT 00:01 match 3", "ETHUSDT 00:00 match 1"]);
  } finally {
    db.close();
  }
});

Deno.test("reconcileCandles() with market usdm checks only the usdm candles, against /fapi/v1/klines, and the health mart shows the rate per market", async () => {
  const id = crypto.randomUUID();
  const lakeDir = `data/parquet/test-${id}`;
  const dbDir = `data/duckdb/test-${id}`;
  const duckdbPath = `${dbDir}/crypto.duckdb`;
  // The futures klines of the golden usdm minutes, stated by hand: MARKET trades only, so 23:59 leaves out the
  // insurance-fund trade at 61302.0 (it would make high 61302.0, volume 0.533 and 4 trades).
  const klines: Record<string, unknown[]> = {
    "2025-03-01 23:59": ["60100.0", "60105.0", "60090.5", "60105.0", "0.033", "1983.125", 3, "0.013", "781.315"],
    "2025-03-02 00:00": ["60110.0", "60120.0", "60110.0", "60115.0", "0.360", "21640.55", 4, "0.110", "6612.15"],
    "2025-03-02 00:01": ["60130.0", "60130.0", "60125.0", "60125.0", "0.042", "2525.45", 2, "0.040", "2405.2"],
  };
  const asked: string[] = [];
  const futuresExchange = ((input: URL) => {
    asked.push(`${input.host}${input.pathname}`);
    if (input.pathname !== "/fapi/v1/klines") return Promise.resolve(new Response("{}", { status: 404 }));
    const first = Number(input.searchParams.get("startTime"));
    const limit = Number(input.searchParams.get("limit"));
    return Promise.resolve(Response.json(Array.from({ length: limit }, (_, i) => {
      const open = first + i * 60_000;
      const [o, h, l, c, volume, quote, trades, buy, buyQuote] = klines[
        new Date(open).toISOString().slice(0, 16)
          .replace("T", " ")
      ]!;
      return [open, o, h, l, c, volume, open + 59_999, quote, trades, buy, buyQuote, "0"];
    })));
  }) as typeof fetch;
  try {
    await writeGoldenLake(`${PROJECT_ROOT}/${lakeDir}`);
    await writeFuturesLake(`${PROJECT_ROOT}/${lakeDir}`);
    const built = await refreshMarts({
      lakeDir: `${PROJECT_ROOT}/${lakeDir}`,
      duckdbPath: `${PROJECT_ROOT}/${duckdbPath}`,
      modelsDir: `${PROJECT_ROOT}/models`,
      nowMs: GOLDEN_NOW_MS,
    });
    assert.equal(built.status, "built");
    const outcome = await updatePublishedDatabase(
      `${PROJECT_ROOT}/${duckdbPath}`,
      (connection) =>
        reconcileCandles(connection, {
          market: "usdm",
          restUrl: reconcileRestUrl(undefined, "usdm"),
          nowMs: GOLDEN_NOW_MS,
          settleSeconds: 60,
          maxMinutes: 100,
          maxChecks: 3,
          fetchImpl: futuresExchange,
        }),
    );
    assert.ok(outcome.status === "updated" && outcome.value.status === "checked");
    assert.deepEqual([...new Set(asked)], ["fapi.binance.com/fapi/v1/klines"]);
    assert.match(
      formatReport(outcome.value),
      /^reconcile usdm: checked 3 minutes of 1 pair in 1 klines request: 3 match,/,
    );
    assert.deepEqual(
      await queryDatabase(
        duckdbPath,
        "select market || ' ' || pair || ' ' || strftime(minute_at, '%H:%M') || ' ' || status as row " +
          "from marts.fct_kline_reconciliation order by all",
      ),
      [{ row: "usdm BTCUSDT 00:00 match" }, { row: "usdm BTCUSDT 00:01 match" }, { row: "usdm BTCUSDT 23:59 match" }],
    );

    // The next refresh puts the verdicts in the usdm health windows only; spot's BTCUSDT, never checked, has none.
    await refreshMarts({
      lakeDir: `${PROJECT_ROOT}/${lakeDir}`,
      duckdbPath: `${PROJECT_ROOT}/${duckdbPath}`,
      modelsDir: `${PROJECT_ROOT}/models`,
      nowMs: GOLDEN_NOW_MS,
    });
    assert.deepEqual(
      await queryDatabase(
        duckdbPath,
        "select market || ' ' || strftime(window_start_at, '%H:%M') || ' ' || klines_checked || ' ' || " +
          "coalesce(kline_match_rate::varchar, '-') as row from marts.fct_pipeline_health_5m " +
          "where pair = 'BTCUSDT' and window_start_at < timestamp '2025-03-02 00:05' order by all",
      ),
      [
        { row: "spot 00:00 0 -" },
        { row: "spot 23:55 0 -" },
        { row: "usdm 00:00 2 1.0" },
        { row: "usdm 23:55 1 1.0" },
      ],
    );
  } finally {
    for (const dir of [lakeDir, dbDir]) {
      await Deno.remove(`${PROJECT_ROOT}/${dir}`, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("reconcileRestUrl() defaults to the market's REST host; BINANCE_REST_URL overrides it", () => {
  assert.equal(reconcileRestUrl(undefined, "spot").href, "https://api.binance.com/");
  assert.equal(reconcileRestUrl("", "usdm").href, "https://fapi.binance.com/");
  assert.equal(reconcileRestUrl(" http://127.0.0.1:9443 ", "usdm").href, "http://127.0.0.1:9443/");
});

/** 40 trades in each of 00:00, 00:01 and 00:03 as a Binance public-data CSV: prices in cents, sizes in 10⁻⁵. */
function replayCsv(): string {
  const lines: string[] = [];
  let seq = 0;
  for (const minute of [0, 1, 3]) {
    for (let i = 0; i < 40; i++, seq++) {
      const cents = 9_300_000 + ((seq * 7919) % 400) - 200;
      const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}000000`;
      const qty = formatUnits(BigInt(1 + ((seq * 31) % 97)) * 1000n);
      const quoteQty = formatUnits(multiplyUnits(units(price), units(qty)));
      const timeMs = T0 + minute * 60_000 + i * 1400 + 17;
      lines.push(`${7_000_000 + seq},${price},${qty},${quoteQty},${timeMs},${seq % 3 === 0 ? "True" : "False"},True`);
    }
  }
  return lines.join("\n") + "\n";
}

async function exchangeTrades(restUrl: URL): Promise<FixtureTrade[]> {
  const rows = await fetchHistoricalTrades(restUrl, PAIR, 0, 1000);
  return rows.map((row) => ({
    pair: PAIR,
    id: row.id,
    price: row.price,
    qty: row.qty,
    timeMs: row.time,
    buyerMaker: row.isBuyerMaker,
  }));
}

function droppableTrade(trades: FixtureTrade[], minuteMs: number): FixtureTrade {
  const minute = trades.filter((trade) => trade.timeMs >= minuteMs && trade.timeMs < minuteMs + 60_000);
  const prices = minute.map((trade) => units(trade.price));
  const high = prices.reduce((a, b) => (a > b ? a : b));
  const low = prices.reduce((a, b) => (a < b ? a : b));
  return minute.slice(1, -1).find((trade) =>
    !trade.buyerMaker && units(trade.price) !== high && units(trade.price) !== low
  )!;
}

function units(text: string): bigint {
  const [whole, fraction = ""] = text.split(".");
  return BigInt(whole!) * 100_000_000n + BigInt(fraction.padEnd(8, "0"));
}

async function refresh(lakeDir: string, duckdbPath: string): Promise<void> {
  const result = await refreshMarts({
    lakeDir: `${PROJECT_ROOT}/${lakeDir}`,
    duckdbPath: `${PROJECT_ROOT}/${duckdbPath}`,
    modelsDir: `${PROJECT_ROOT}/models`,
    variables: { health_stale_after_seconds: 60, health_warn_latency_ms: 2000 },
  });
  assert.equal(result.status, "built");
  if (result.status !== "built") return;
  const ours = result.tests.filter((test) => test.name.includes("fct_kline_reconciliation"));
  assert.ok(ours.length >= 4);
  assert.deepEqual(ours.filter((test) => test.failingRows > 0), []);
}

async function reconcile(env: Record<string, string>, extra: string[] = []) {
  const args = taskArgs("reconcile");
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...args, ...extra],
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

interface ReconciliationRow {
  minute: string;
  status: string;
  mismatched_fields: string;
  differences: string;
  checks: number;
}

async function readReconciliation(duckdbPath: string): Promise<ReconciliationRow[]> {
  return await queryDatabase(
    duckdbPath,
    `select strftime(minute_at, '%H:%M') as minute, status, mismatched_fields, differences, checks
     from marts.fct_kline_reconciliation where pair = '${PAIR}' order by minute_at`,
  ) as unknown as ReconciliationRow[];
}

async function queryDatabase(duckdbPath: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(`${PROJECT_ROOT}/${duckdbPath}`, { access_mode: "READ_ONLY" });
  try {
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(sql);
    connection.closeSync();
    return reader.getRowObjectsJson();
  } finally {
    instance.closeSync();
  }
}

/** A loopback port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Gave up waiting after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
