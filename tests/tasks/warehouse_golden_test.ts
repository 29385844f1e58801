/**
 * The marts against numbers worked out by hand: the golden lake (tests/helpers/golden_lake.ts) gives every column of
 * every mart exactly, candles follow the exchange's kline semantics, the health thresholds come from variables, and
 * an incremental refresh across midnight gives the golden marts too.
 */
import assert from "node:assert/strict";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { type ModelRun, refreshMarts, type RefreshSettings, type TestRun } from "../../tasks/lib/warehouse/builder.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import {
  type ArchiveTrade,
  BACKFILL,
  dropProvenance,
  ETH_V2,
  FUTURES_TRADES,
  type FuturesTrade,
  GOLDEN_FUTURES_MARTS,
  GOLDEN_MARTS,
  GOLDEN_NOW_MS,
  type GoldenMart,
  LATER_V2,
  LIVE_V1,
  RETRY_COPY,
  utcMs,
  writeArchiveHour,
  writeFuturesLake,
  writeGoldenLake,
} from "../helpers/golden_lake.ts";
import { type FixtureTrade, writeDlq, writeLake } from "../helpers/lake.ts";
import { dlqMessage } from "../../tasks/lib/ingest/envelope.ts";

/** A lake folder and a database path for one test, both where the refresh task's permissions reach. */
function testPaths() {
  const id = crypto.randomUUID();
  const lakeDir = `${PROJECT_ROOT}/data/parquet/test-${id}`;
  const dbDir = `${PROJECT_ROOT}/data/duckdb/test-${id}`;
  return {
    lake: lakeDir,
    duckdbPath: `${dbDir}/crypto.duckdb`,
    async cleanUp() {
      await Deno.remove(lakeDir, { recursive: true }).catch(() => {});
      await Deno.remove(dbDir, { recursive: true }).catch(() => {});
    },
  };
}

function settings(paths: ReturnType<typeof testPaths>, extra: Partial<RefreshSettings> = {}): RefreshSettings {
  return {
    lakeDir: paths.lake,
    duckdbPath: paths.duckdbPath,
    modelsDir: `${PROJECT_ROOT}/models`,
    nowMs: GOLDEN_NOW_MS,
    ...extra,
  };
}

/** Refreshes and fails, naming each failing data test with its sample rows, unless every data test passes. */
async function refreshPassingTests(refresh: RefreshSettings) {
  const result = await refreshMarts(refresh);
  assert.ok(result.status === "built", JSON.stringify(result));
  assert.ok(result.tests.length > 0, "the data tests ran");
  assert.deepEqual(result.tests.filter((test) => test.failingRows > 0).map(describeFailure), []);
  return result;
}

function describeFailure(test: TestRun): string {
  return `${test.name}: ${test.failingRows} failing rows, e.g. ${JSON.stringify(test.sample)}`;
}

async function withDatabase<T>(duckdbPath: string, read: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(duckdbPath, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    return await read(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function readRows(connection: DuckDBConnection, sql: string): Promise<Record<string, string | null>[]> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, string | null>[];
}

/**
 * How `mart` differs from `golden`, one line per differing value, over the rows `where` selects. Values compare as
 * DuckDB's VARCHAR casts, so DECIMALs and timestamps must match to the last digit; DOUBLEs (ratios, latencies)
 * compare within a relative 1e-9, as their last digits depend on the order of summation.
 */
async function martDifferences(
  connection: DuckDBConnection,
  mart: string,
  golden: GoldenMart,
  where = "true",
): Promise<string[]> {
  const [schema, table] = mart.split(".");
  const columns = await readRows(
    connection,
    `select column_name as name, data_type as type from information_schema.columns ` +
      `where table_schema = '${schema}' and table_name = '${table}' order by ordinal_position`,
  );
  const names = columns.map((column) => column.name!);
  const doubles = new Set(columns.filter((column) => column.type === "DOUBLE").map((column) => column.name!));
  const goldenNames = golden.rows[0] ? Object.keys(golden.rows[0]) : names;
  if (goldenNames.join() !== names.join()) return [`${mart} has columns ${names}, the golden rows ${goldenNames}`];

  const actual = await readRows(
    connection,
    `select ${names.map((name) => `${name}::varchar as ${name}`).join(", ")} from ${mart} ` +
      `where ${where} order by ${golden.orderBy}`,
  );
  const keyOf = (row: Record<string, string | null>) => golden.orderBy.split(", ").map((c) => row[c]).join(" ");
  if (actual.length !== golden.rows.length) {
    return [`${mart} has rows [${actual.map(keyOf).join("; ")}], expected [${golden.rows.map(keyOf).join("; ")}]`];
  }
  return golden.rows.flatMap((expected, i) =>
    names.flatMap((name) => {
      const got = actual[i]![name] ?? null;
      const want = expected[name] ?? null;
      const same = doubles.has(name) && got !== null && want !== null
        ? Math.abs(Number(got) - Number(want)) <= 1e-9 * Math.max(1, Math.abs(Number(want)))
        : got === want;
      return same ? [] : [`${mart} ${keyOf(expected)} ${name}: expected ${want}, got ${got}`];
    })
  );
}

/** Every difference between the published marts and the golden ones, marts present included, over `where`'s rows. */
async function goldenDifferences(duckdbPath: string, where = "true"): Promise<string[]> {
  return await withDatabase(duckdbPath, async (connection) => {
    const marts = (await readRows(
      connection,
      "select 'marts.' || table_name as name from information_schema.tables where table_schema = 'marts' order by 1",
    )).map((row) => row.name!);
    const expected = Object.keys(GOLDEN_MARTS).sort();
    if (marts.join() !== expected.join()) return [`marts are ${marts}, the golden ones ${expected}`];
    const differences: string[] = [];
    for (const mart of marts) differences.push(...await martDifferences(connection, mart, GOLDEN_MARTS[mart]!, where));
    return differences;
  });
}

Deno.test("refreshMarts() builds every column of every mart of the golden lake to its hand-computed value", async () => {
  const paths = testPaths();
  try {
    await writeGoldenLake(paths.lake);
    await refreshPassingTests(settings(paths));
    assert.deepEqual(await goldenDifferences(paths.duckdbPath), []);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("refreshMarts() builds the usdm marts beside spot's: candles count MARKET trades only, the same ids never mix, and ids the source does not list are no gap", async () => {
  const paths = testPaths();
  try {
    await writeGoldenLake(paths.lake);
    const futuresFiles = await writeFuturesLake(paths.lake);
    assert.ok(futuresFiles.every((path) => path.startsWith(`${paths.lake}/_usdm/pair=BTCUSDT/trade_date=`)));
    const result = await refreshPassingTests(settings(paths));
    // the usdm files hold each id once and share no folder with spot's: only the spot lake's 3 are deduplicated, as
    // without them
    assert.equal(result.lakeFiles, 9);
    assert.equal(result.lakeFilesDeduplicated, 3);

    // spot is exactly the golden lake, though spot BTCUSDT 101-106 share their ids with usdm's
    assert.deepEqual(await goldenDifferences(paths.duckdbPath, "market = 'spot'"), []);
    const usdm = await withDatabase(paths.duckdbPath, async (connection) => {
      const differences: string[] = [];
      for (const [mart, golden] of Object.entries(GOLDEN_FUTURES_MARTS)) {
        differences.push(...await martDifferences(connection, mart, golden, "market = 'usdm'"));
      }
      const staged = (await readRows(
        connection,
        "select trade_id || ' ' || coalesce(trade_type, '-') || ' ' || is_market_trade as t from staging.stg_trades " +
          "where market = 'usdm' order by trade_id",
      )).map((row) => row.t);
      const spotTypes = (await readRows(
        connection,
        "select count(*)::varchar as n from staging.stg_trades " +
          "where market = 'spot' and (trade_type is not null or not is_market_trade)",
      ))[0]!.n;
      return { differences, staged, spotTypes };
    });
    assert.deepEqual(usdm.differences, []);
    assert.deepEqual(usdm.staged, FUTURES_TRADES.map((t) => `${t.id} ${t.type} ${t.type === "MARKET"}`));
    assert.equal(usdm.spotTypes, "0", "every spot trade is a market trade, without a trade_type");
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("refreshMarts() builds a lake that holds only the usdm dataset, and then one that gains spot incrementally", async () => {
  const paths = testPaths();
  try {
    await writeFuturesLake(paths.lake);
    const first = await refreshPassingTests(settings(paths));
    assert.equal(first.lakeFiles, 2);
    const usdmOnly = await withDatabase(paths.duckdbPath, async (connection) => ({
      markets: (await readRows(connection, "select distinct market from marts.fct_candles_1m")).map((r) => r.market),
      candles: await martDifferences(
        connection,
        "marts.fct_candles_1m",
        GOLDEN_FUTURES_MARTS["marts.fct_candles_1m"]!,
      ),
    }));
    assert.deepEqual(usdmOnly, { markets: ["usdm"], candles: [] });

    await writeGoldenLake(paths.lake);
    const second = await refreshPassingTests(settings(paths));
    assert.equal(second.mode, "incremental");
    assert.deepEqual(await goldenDifferences(paths.duckdbPath, "market = 'spot'"), []);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("refreshMarts() applies one gap rule to both markets: missing ids are absent at the source when the next trade's source listed nothing between, else open", async () => {
  const paths = testPaths();
  const at = (time: string) => `2025-03-05 10:${time}`;
  const trade = (id: number, time: string, sourcePrevId?: number): FuturesTrade => ({
    id,
    time: at(time),
    price: "150.0",
    qty: "1.000",
    taker: "buy",
    type: "MARKET",
    ...(sourcePrevId === undefined ? {} : { sourcePrevId }),
  });
  try {
    // usdm: REST listed 203 after 202, which proves nothing of 201-202 (open); it listed 207 right after 204, so
    // 205-206 do not exist there (an ADL or insurance-fund trade the stream missed)
    await writeFuturesLake(
      paths.lake,
      [trade(200, "00:10.000"), trade(203, "00:20.000", 202), trade(204, "00:30.000"), trade(207, "00:40.000", 204)]
        .concat([trade(208, "01:10.000")]),
      { pair: "SOLUSDT" },
    );
    // spot, the same ids: REST listed 202 right after 200, so 201 is absent at the source there too
    await writeFuturesLake(
      paths.lake,
      [trade(200, "00:10.000"), trade(202, "00:20.000", 200), trade(203, "00:40.000")],
      {
        pair: "SOLUSDT",
        market: "spot",
      },
    );
    await refreshPassingTests(settings(paths, { nowMs: utcMs("2025-03-05 10:03:00.000") }));
    const marts = await withDatabase(paths.duckdbPath, async (connection) => ({
      gaps: (await readRows(
        connection,
        "select market || ' ' || from_trade_id || '-' || to_trade_id || ' ' || missing_count || ' ' || status || ' ' || " +
          "coalesce(healed_by, '-') || ' after ' || strftime(gap_after_time, '%H:%M:%S') as g " +
          "from marts.fct_trade_gaps order by market, from_trade_id",
      )).map((row) => row.g),
      openGaps: (await readRows(
        connection,
        "select market || ' ' || message as a from marts.fct_alert_conditions where kind = 'open_gaps' order by 1",
      )).map((row) => row.a),
    }));
    assert.deepEqual(marts.gaps, [
      "spot 201-201 1 absent_at_source - after 10:00:10",
      "spot 202-202 1 healed rest_backfill after 10:00:10",
      "usdm 201-202 2 open - after 10:00:10",
      "usdm 203-203 1 healed rest_backfill after 10:00:10",
      "usdm 205-206 2 absent_at_source - after 10:00:30",
      "usdm 207-207 1 healed rest_backfill after 10:00:30",
    ]);
    assert.deepEqual(marts.openGaps, ["usdm 1 trade-id gaps not healed"]);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("refreshMarts() gives the kept external tables the market column, as spot for the rows from before it", async () => {
  const paths = testPaths();
  try {
    await writeGoldenLake(paths.lake);
    await refreshPassingTests(settings(paths));
    // a database published before markets existed: the kept tables lack the column and hold spot's rows
    const instance = await DuckDBInstance.create(paths.duckdbPath);
    const connection = await instance.connect();
    try {
      await connection.run(`
        alter table marts.fct_kline_reconciliation drop column market;
        insert into marts.fct_kline_reconciliation by name
        select 'BTCUSDT' as pair, timestamp '2025-03-01 23:58' as minute_at, 'match' as status,
          '' as mismatched_fields, '{}' as differences, 1 as checks, timestamp '2025-03-02 00:07' as checked_at,
          'x' as candle_hash;
        alter table marts.alerts drop column market;`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    await refreshPassingTests(settings(paths));
    const kept = await withDatabase(paths.duckdbPath, async (connection) => ({
      reconciled: (await readRows(
        connection,
        "select market || ' ' || pair || ' ' || status as r from marts.fct_kline_reconciliation",
      )).map((row) => row.r),
      alerts: (await readRows(connection, "select market || ' ' || alert_id as a from marts.alerts order by 1"))
        .map((row) => row.a),
    }));
    assert.deepEqual(kept.reconciled, ["spot BTCUSDT match"]);
    assert.deepEqual(kept.alerts, [
      "spot BTCUSDT/open_gaps/2025-03-02T00:07:30",
      "spot BTCUSDT/stale/2025-03-02T00:07:30",
      "spot ETHUSDT/stale/2025-03-02T00:07:30",
    ]);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("refreshMarts() builds candles by trade id: a late lower id, trades at :59.999 and a duplicate row give exact candles", async () => {
  const paths = testPaths();
  const at = (time: string) => utcMs(`2025-03-01 12:${time}`);
  const trade = (id: number, time: string, price: string, qty: string, taker: "buy" | "sell"): FixtureTrade => ({
    pair: "BTCUSDT",
    id,
    timeMs: at(time),
    price,
    qty,
    buyerMaker: taker === "sell",
  });
  // 201 and 202 are one match, as are 204 and 205: the same time, so only the id tells open and close
  const t201 = trade(201, "00:00.000", "100.00", "1", "buy");
  const t203 = trade(203, "00:30.000", "105.00", "2", "buy");
  try {
    // 205 arrives before 204, and 201 after everything else, in a later file
    await writeLake(paths.lake, [
      trade(202, "00:00.000", "101.00", "1", "sell"),
      t203,
      trade(205, "00:59.999", "102.00", "1", "buy"),
      trade(204, "00:59.999", "99.00", "1", "sell"),
      trade(206, "01:00.000", "103.00", "1", "buy"),
    ], { writtenAtMs: at("01:05.000") });
    await writeLake(paths.lake, [{ ...t201, ingestDelayMs: 3000 }], { firstOffset: 5, writtenAtMs: at("01:10.000") });
    // a producer retry puts 203 in the lake twice
    await writeLake(paths.lake, [{ ...t203, ingestDelayMs: 550 }], { kafkaPartition: 1, writtenAtMs: at("01:06.000") });
    await refreshPassingTests(settings(paths, { nowMs: at("02:00.000") }));

    const candles: GoldenMart = {
      orderBy: "market, pair, minute_at",
      rows: [
        {
          market: "spot",
          pair: "BTCUSDT",
          minute_at: "2025-03-01 12:00:00",
          open: "100.00000000", // 201, though it arrived last
          high: "105.00000000",
          low: "99.00000000",
          close: "102.00000000", // 205, though 204 arrived after it
          volume: "6.00000000", // 1 + 1 + 2 + 1 + 1: 203 once
          quote_volume: "612.0000000000000000", // 100 + 101 + 210 + 99 + 102
          trade_count: "5",
          vwap: "102.00000000",
          taker_buy_volume: "4.00000000", // 201, 203, 205
          taker_buy_quote_volume: "412.0000000000000000",
        },
        {
          market: "spot",
          pair: "BTCUSDT",
          minute_at: "2025-03-01 12:01:00",
          open: "103.00000000",
          high: "103.00000000",
          low: "103.00000000",
          close: "103.00000000",
          volume: "1.00000000",
          quote_volume: "103.0000000000000000",
          trade_count: "1",
          vwap: "103.00000000",
          taker_buy_volume: "1.00000000",
          taker_buy_quote_volume: "103.0000000000000000",
        },
      ],
    };
    const differences = await withDatabase(
      paths.duckdbPath,
      (connection) => martDifferences(connection, "marts.fct_candles_1m", candles),
    );
    assert.deepEqual(differences, []);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("refreshMarts() judges health by the health_stale_after_seconds and health_warn_latency_ms variables", async () => {
  const paths = testPaths();
  const statuses = () =>
    withDatabase(paths.duckdbPath, async (connection) =>
      (await readRows(
        connection,
        "select pair || ' ' || strftime(window_start_at, '%H:%M') || ' ' || status as status " +
          "from marts.fct_pipeline_health_5m order by pair, window_start_at",
      )).map((row) => row.status));
  try {
    await writeGoldenLake(paths.lake);
    // The defaults, 60 s and 2000 ms: see the golden health rows.
    await refreshPassingTests(settings(paths));
    assert.deepEqual(await statuses(), [
      "BTCUSDT 23:55 warn",
      "BTCUSDT 00:00 stale",
      "BTCUSDT 00:05 stale",
      "ETHUSDT 23:55 warn",
      "ETHUSDT 00:00 stale",
      "ETHUSDT 00:05 stale",
    ]);

    // 400 s: only ETHUSDT's last window (450 s since its last trade) is stale; BTCUSDT's (190 s, 340 s) warn of
    // the open gaps. 100 ms: ETHUSDT 23:55 still warns (p99 2473.32 ms), and 00:00 turns ok (p99 29.999 ms).
    await refreshPassingTests(settings(paths, {
      variables: { health_stale_after_seconds: 400, health_warn_latency_ms: 100 },
    }));
    assert.deepEqual(await statuses(), [
      "BTCUSDT 23:55 warn",
      "BTCUSDT 00:00 warn",
      "BTCUSDT 00:05 warn",
      "ETHUSDT 23:55 warn",
      "ETHUSDT 00:00 ok",
      "ETHUSDT 00:05 stale",
    ]);

    // 2500 ms is above ETHUSDT's p99 of 2473.32 ms, so its 23:55 window turns ok too; BTCUSDT's gaps stay open.
    await refreshPassingTests(settings(paths, {
      variables: { health_stale_after_seconds: 3600, health_warn_latency_ms: 2500 },
    }));
    assert.deepEqual(await statuses(), [
      "BTCUSDT 23:55 warn",
      "BTCUSDT 00:00 warn",
      "BTCUSDT 00:05 warn",
      "ETHUSDT 23:55 ok",
      "ETHUSDT 00:00 ok",
      "ETHUSDT 00:05 ok",
    ]);
  } finally {
    await paths.cleanUp();
  }
});

/** The incremental models a refresh rebuilt some other way (in full, or not at all). */
function notBuiltIncrementally(models: ModelRun[]): string[] {
  return models.filter((model) => model.materialized === "incremental" && model.how !== "incremental")
    .map((model) => `${model.id} ${model.how}`);
}

const MINUTE_MARTS = [
  "marts.fct_candles_1m",
  "marts.fct_trades_1m",
  "marts.fct_orderflow_1m",
  "marts.fct_ingestion_latency_1m",
];

// tests/tasks/refresh_test.ts compares an incremental refresh with a full one, but its late file rebuilds from
// before its first trade. Here, without a look-back, the first incremental run starts at midnight, keeping the day
// before, and the second starts at 23:00, which for the trade_date-keyed order flow means the whole of 2025-03-01.
Deno.test("refreshMarts() rebuilding incrementally from midnight, then from a late trade the day before, gives the golden marts", async () => {
  const paths = testPaths();
  try {
    await writeGoldenLake(paths.lake, [LIVE_V1, RETRY_COPY, ETH_V2]);
    const first = await refreshPassingTests(settings(paths, { lookbackMinutes: 0 }));
    assert.equal(first.mode, "full");

    await writeGoldenLake(paths.lake, [LATER_V2]);
    const second = await refreshPassingTests(settings(paths, { lookbackMinutes: 0 }));
    assert.equal(second.rebuiltFrom, "2025-03-02 00:00:00");
    assert.deepEqual(notBuiltIncrementally(second.models), []);
    // Only 99 is still missing, in 23:58: from midnight on, the minute marts are golden already.
    const fromMidnight = await withDatabase(paths.duckdbPath, async (connection) => {
      const differences: string[] = [];
      for (const mart of MINUTE_MARTS) {
        const golden = GOLDEN_MARTS[mart]!;
        const rows = golden.rows.filter((row) => row.minute_at! >= "2025-03-02");
        const where = "minute_at >= timestamp '2025-03-02'";
        differences.push(...await martDifferences(connection, mart, { ...golden, rows }, where));
      }
      return differences;
    });
    assert.deepEqual(fromMidnight, []);

    await writeGoldenLake(paths.lake, [BACKFILL]);
    const third = await refreshPassingTests(settings(paths, { lookbackMinutes: 0 }));
    assert.equal(third.rebuiltFrom, "2025-03-01 23:00:00");
    assert.deepEqual(notBuiltIncrementally(third.models), []);
    assert.deepEqual(await goldenDifferences(paths.duckdbPath), []);
  } finally {
    await paths.cleanUp();
  }
});

/** A DLQ record as the consumer sends it (consumer.ts sendToDlq). */
function consumerDlqValue(reason: string, atMs: number, offset: number): string {
  const raw = "{not json";
  return JSON.stringify({
    schema_version: 1,
    reason,
    detail: "bad",
    received_at_ms: atMs,
    raw,
    raw_length: raw.length,
    raw_truncated: false,
    symbol: null,
    source: { topic: "crypto.trades.v1", partition: 0, offset: String(offset) },
  });
}

Deno.test("refreshMarts() counts the lake's DLQ events per pair, window and reason, once each", async () => {
  const paths = testPaths();
  const at = (time: string) => utcMs(time);
  const producer = (reason: Parameters<typeof dlqMessage>[1], time: string, symbol?: string) => ({
    value: dlqMessage(`{"s":"${symbol ?? "?"}"}`, reason, "bad", at(time), symbol).value,
    atMs: at(time),
  });
  const dlqMarts = () =>
    withDatabase(paths.duckdbPath, async (connection) => ({
      health: (await readRows(
        connection,
        "select pair || ' ' || strftime(window_start_at, '%H:%M') || ' ' || dlq_events as w " +
          "from marts.fct_pipeline_health_5m order by pair, window_start_at",
      )).map((row) => row.w),
      byReason: (await readRows(
        connection,
        "select strftime(window_start_at, '%H:%M') || ' ' || pair || ' ' || reason || ' ' || stage || ' ' || events " +
          "as e from marts.fct_dlq_events_5m order by window_start_at, pair, reason, stage",
      )).map((row) => row.e),
      alerts: (await readRows(
        connection,
        "select pair || ' ' || message as a from marts.fct_alert_conditions where kind = 'dlq_rate' order by pair",
      )).map((row) => row.a),
      trades: await martDifferences(connection, "marts.fct_trades_1m", GOLDEN_MARTS["marts.fct_trades_1m"]!),
    }));
  try {
    await writeGoldenLake(paths.lake);
    // DLQ partition 0: received across midnight, so one file per received date.
    await writeDlq(paths.lake, 0, 0, [
      producer("invalid_decimal", "2025-03-01 23:57:10.000", "BTCUSDT"),
      producer("non_positive_price", "2025-03-01 23:58:00.000", "BTCUSDT"),
      producer("malformed_json", "2025-03-02 00:01:00.000"),
      { value: consumerDlqValue("malformed_json", at("2025-03-02 00:02:00.000"), 42), stage: "consumer", atMs: 0 },
      // the consumer crashed before committing offset 42 and sent it again: one event
      { value: consumerDlqValue("malformed_json", at("2025-03-02 00:02:05.000"), 42), stage: "consumer", atMs: 0 },
      producer("stream_mismatch", "2025-03-02 00:06:00.000", "ETHUSDT"),
    ]);
    await writeDlq(paths.lake, 1, 0, [
      producer("invalid_decimal", "2025-03-01 23:59:59.999", "BTCUSDT"),
      { value: "not a DLQ record", atMs: at("2025-03-02 00:06:30.000") }, // undecodable, dated by Kafka
    ]);
    const files = (await Array.fromAsync(Deno.readDir(`${paths.lake}/_dlq/received_date=2025-03-02`))).map((e) =>
      e.name
    );
    assert.deepEqual(files.sort(), ["dlq-0-00000000000000000000.parquet", "dlq-1-00000000000000000000.parquet"]);

    await refreshPassingTests(settings(paths, { variables: { alert_dlq_per_5m: 0 } }));
    const first = await dlqMarts();
    assert.deepEqual(first.health, [
      "BTCUSDT 23:55 3",
      "BTCUSDT 00:00 0",
      "BTCUSDT 00:05 0",
      "ETHUSDT 23:55 0",
      "ETHUSDT 00:00 0",
      "ETHUSDT 00:05 1",
    ]);
    assert.deepEqual(first.byReason, [
      "23:55 BTCUSDT invalid_decimal producer 2",
      "23:55 BTCUSDT non_positive_price producer 1",
      "00:00 unknown malformed_json consumer 1",
      "00:00 unknown malformed_json producer 1",
      "00:05 ETHUSDT stream_mismatch producer 1",
      "00:05 unknown undecodable_dlq_record unknown 1",
    ]);
    assert.deepEqual(first.alerts, ["ETHUSDT 1 dead-letter events in 5 minutes"]);
    assert.deepEqual(first.trades, [], "the _dlq files are not trades");

    // A later flush: the DLQ models are tables, so an incremental refresh counts it too.
    await writeDlq(paths.lake, 0, 6, [producer("invalid_decimal", "2025-03-02 00:03:00.000", "BTCUSDT")]);
    await refreshPassingTests(settings(paths, { variables: { alert_dlq_per_5m: 0 } }));
    assert.deepEqual((await dlqMarts()).health.slice(0, 2), ["BTCUSDT 23:55 3", "BTCUSDT 00:00 1"]);
  } finally {
    await paths.cleanUp();
  }
});

/** Every Parquet file below `dir`, recursively. */
async function parquetFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await parquetFiles(path));
    else if (entry.name.endsWith(".parquet")) found.push(path);
  }
  return found.sort();
}

Deno.test("refreshMarts() reads lake files written before provenance existed, alone or beside newer ones", async () => {
  const paths = testPaths();
  try {
    await writeGoldenLake(paths.lake);
    // Kafka partition 0 (LIVE_V1, LATER_V2, BACKFILL) as old files, the retry copy and ETHUSDT as new ones.
    const files = await parquetFiles(paths.lake);
    await dropProvenance(files.filter((path) => path.includes("/part-0-")));
    await refreshPassingTests(settings(paths));
    assert.deepEqual(await goldenDifferences(paths.duckdbPath), []);

    // Every file old: the lake has no provenance column at all.
    await dropProvenance(files.filter((path) => !path.includes("/part-0-")));
    await refreshPassingTests(settings(paths, { full: true }));
    assert.deepEqual(await goldenDifferences(paths.duckdbPath), []);
    const provenance = await withDatabase(paths.duckdbPath, async (connection) =>
      (await readRows(
        connection,
        "select trade_id::varchar || ' ' || provenance as p from staging.stg_trades " +
          "where pair = 'BTCUSDT' and trade_id in (98, 99) order by trade_id",
      )).map((row) => row.p));
    assert.deepEqual(provenance, ["98 live", "99 rest_backfill"]);
  } finally {
    await paths.cleanUp();
  }
});

// An hour of BTCUSDT on 2025-03-03 (spot, so the archive is in µs while the stream sends ms), ids 998-1013:
//   10:00  998 999 archive only (before the first live trade)   1000 live   1001 live + archive (µs, same ms)
//          1002 live + archive (another price, another side)     1003 archive only
//   10:01  1004 archive only   1005 REST backfill   1006 live + archive (µs, same ms)
//   10:02  1007 1008 live
//   10:03  1009 1010 archive only
//   10:04  1011 never stored   1012 live   1013 archive only (after the last live trade)
// ETHUSDT has an archive-only hour: nothing overlaps it, so its file skips deduplication.
const ARCHIVE_DAY = "2025-03-03 10:";
const btcAt = (time: string, id: number, price = "100.00", taker: "buy" | "sell" = "buy"): FixtureTrade => ({
  pair: "BTCUSDT",
  id,
  timeMs: utcMs(`${ARCHIVE_DAY}${time}`),
  price,
  qty: "1.5",
  buyerMaker: taker === "sell",
});
const LIVE_HOUR: FixtureTrade[] = [
  btcAt("00:10.000", 1000),
  btcAt("00:20.000", 1001),
  btcAt("00:30.000", 1002, "101.00", "buy"),
  btcAt("01:30.000", 1006),
  btcAt("02:10.000", 1007),
  btcAt("02:20.000", 1008),
  btcAt("04:30.000", 1012),
];
const REST_HOUR: FixtureTrade[] = [{ ...btcAt("01:20.000", 1005), backfilled: true, ingestDelayMs: 600_000 }];
const archiveAt = (time: string, id: number, price = "100.00", buyerMaker = false, usPastMs = 0): ArchiveTrade => ({
  id,
  price,
  qty: "1.50000000",
  timeUs: utcMs(`${ARCHIVE_DAY}${time}`) * 1000 + usPastMs,
  buyerMaker,
});
const ARCHIVE_HOUR: ArchiveTrade[] = [
  archiveAt("00:01.000", 998),
  archiveAt("00:02.000", 999),
  archiveAt("00:20.000", 1001, "100.00", false, 456),
  archiveAt("00:30.000", 1002, "101.50", true),
  archiveAt("00:50.000", 1003, "100.00", false, 7),
  archiveAt("01:05.000", 1004, "100.00", false, 250),
  archiveAt("01:30.000", 1006, "100.00", false, 999),
  archiveAt("03:10.000", 1009),
  archiveAt("03:20.000", 1010, "100.00", false, 5),
  archiveAt("04:40.000", 1013),
];
const ETH_ARCHIVE_HOUR: ArchiveTrade[] = [50, 51, 52].map((id) => ({
  id,
  price: "3000.00",
  qty: "0.10000000",
  timeUs: utcMs("2025-03-03 10:00:30.000") * 1000 + id,
  buyerMaker: id === 51,
}));

Deno.test("refreshMarts() keeps the live copy of a trade the archive also holds, and reconciles the two copies", async () => {
  const paths = testPaths();
  const refresh = settings(paths, { nowMs: utcMs("2025-03-03 10:06:00.000") });
  const marts = () =>
    withDatabase(paths.duckdbPath, async (connection) => ({
      staged: (await readRows(
        connection,
        "select trade_id::varchar || ' ' || provenance || ' ' || time_unit || ' ' || price::varchar || ' ' || " +
          "taker_side || ' ' || coalesce(kafka_offset::varchar, '-') as t from staging.stg_trades " +
          "where pair = 'BTCUSDT' order by trade_id",
      )).map((row) => row.t),
      minutes: (await readRows(
        connection,
        "select strftime(minute_at, '%H:%M') || ' ' || trade_count || ' ' || backfilled_count || ' ' || " +
          "archive_count || ' ' || coalesce(strftime(last_ingested_at, '%H:%M:%S'), '-') as m " +
          "from marts.fct_trades_1m where pair = 'BTCUSDT' order by minute_at",
      )).map((row) => row.m),
      latency: (await readRows(
        connection,
        "select strftime(minute_at, '%H:%M') || ' ' || sample_count as l from marts.fct_ingestion_latency_1m " +
          "where pair = 'BTCUSDT' order by minute_at",
      )).map((row) => row.l),
      gaps: (await readRows(
        connection,
        "select pair || ' ' || from_trade_id || '-' || to_trade_id || ' ' || missing_count || ' ' || status || ' ' || " +
          "coalesce(healed_by, '-') || ' after ' || strftime(gap_after_time, '%H:%M:%S.%f') as g " +
          "from marts.fct_trade_gaps order by pair, from_trade_id",
      )).map((row) => row.g),
      reconciliation: await martDifferences(connection, "marts.fct_archive_reconciliation", {
        orderBy: "market, pair, trade_date",
        rows: [
          {
            // 10 archive rows; 8 trades captured (7 live, 1005 from REST); 1001, 1002 and 1006 in both, and only
            // 1002 differs: its price and its side, not its time (1001 and 1006 differ below the millisecond)
            market: "spot",
            pair: "BTCUSDT",
            trade_date: "2025-03-03",
            archive_trades: "10",
            live_trades: "8",
            overlapping_trades: "3",
            disagreeing_trades: "1",
            price_mismatches: "1",
            quantity_mismatches: "0",
            trade_time_mismatches: "0",
            is_buyer_maker_mismatches: "1",
            is_best_match_mismatches: "0",
            differing_fields: "[is_buyer_maker, price]",
          },
          {
            market: "spot",
            pair: "ETHUSDT",
            trade_date: "2025-03-03",
            archive_trades: "3",
            live_trades: "0",
            overlapping_trades: "0",
            disagreeing_trades: "0",
            price_mismatches: "0",
            quantity_mismatches: "0",
            trade_time_mismatches: "0",
            is_buyer_maker_mismatches: "0",
            is_best_match_mismatches: "0",
            differing_fields: "[]",
          },
        ],
      }),
      alerts: (await readRows(
        connection,
        "select pair || ' ' || message as a from marts.fct_alert_conditions where kind = 'open_gaps' order by pair",
      )).map((row) => row.a),
      sinceIngest: (await readRows(
        connection,
        "select pair || ' ' || strftime(window_start_at, '%H:%M') || ' ' || " +
          "coalesce(seconds_since_last_ingest::varchar, '-') as w from marts.fct_pipeline_health_5m order by 1",
      )).map((row) => row.w),
    }));
  try {
    await writeLake(paths.lake, LIVE_HOUR, { writtenAtMs: utcMs(`${ARCHIVE_DAY}05:00.000`) });
    await writeLake(paths.lake, REST_HOUR, { firstOffset: 7, writtenAtMs: utcMs(`${ARCHIVE_DAY}05:10.000`) });
    const first = await refreshPassingTests(refresh);
    assert.equal(first.mode, "full");

    // The import lands later: an incremental refresh from the imported hour rebuilds the reconciliation's whole day.
    const importedAtMs = utcMs(`${ARCHIVE_DAY}05:30.000`);
    const archiveFile = await writeArchiveHour(paths.lake, "BTCUSDT", ARCHIVE_HOUR, {
      timeUnit: "us",
      writtenAtMs: importedAtMs,
    });
    assert.match(archiveFile, /pair=BTCUSDT\/trade_date=2025-03-03\/hour=10\/archive-BTCUSDT-2025-03-03-10\.parquet$/);
    await writeArchiveHour(paths.lake, "ETHUSDT", ETH_ARCHIVE_HOUR, { timeUnit: "us", writtenAtMs: importedAtMs });
    const second = await refreshPassingTests(refresh);
    assert.equal(second.mode, "incremental");
    assert.equal(second.rebuiltFrom, "2025-03-03 09:55:00");
    assert.deepEqual(notBuiltIncrementally(second.models), []);
    // The three BTCUSDT files share ids; the ETHUSDT archive file shares none and holds each once.
    assert.equal(second.lakeFiles, 4);
    assert.equal(second.lakeFilesDeduplicated, 3);
    const incremental = await marts();

    await refreshPassingTests({ ...refresh, full: true });
    const full = await marts();
    assert.deepEqual(incremental, full);

    assert.deepEqual(full.staged, [
      "998 archive us 100.00000000 buy -",
      "999 archive us 100.00000000 buy -",
      "1000 live ms 100.00000000 buy 0",
      "1001 live ms 100.00000000 buy 1", // the live copy, not the archive's
      "1002 live ms 101.00000000 buy 2",
      "1003 archive us 100.00000000 buy -",
      "1004 archive us 100.00000000 buy -",
      "1005 rest_backfill ms 100.00000000 buy 7",
      "1006 live ms 100.00000000 buy 3",
      "1007 live ms 100.00000000 buy 4",
      "1008 live ms 100.00000000 buy 5",
      "1009 archive us 100.00000000 buy -",
      "1010 archive us 100.00000000 buy -",
      "1012 live ms 100.00000000 buy 6",
      "1013 archive us 100.00000000 buy -",
    ]);
    // minute, trades, backfilled, archive, last ingest: 10:03 holds archive trades only, never ingested
    assert.deepEqual(full.minutes, [
      "10:00 6 0 3 10:00:30",
      "10:01 3 1 1 10:11:20",
      "10:02 2 0 0 10:02:20",
      "10:03 2 0 2 -",
      "10:04 2 0 1 10:04:30",
    ]);
    // the latency sample is the live trades only; 10:03 has none
    assert.deepEqual(full.latency, ["10:00 3", "10:01 1", "10:02 2", "10:04 1"]);
    // 998-999 precede the first live trade and 1013 follows the last: history, not healed gaps. The runs split by
    // source (1003-1004 archive, then 1005 REST), each placed at the trade kept just before it.
    assert.deepEqual(full.gaps, [
      "BTCUSDT 1003-1004 2 healed archive after 10:00:30.000000",
      "BTCUSDT 1005-1005 1 healed rest_backfill after 10:01:05.000250",
      "BTCUSDT 1009-1010 2 healed archive after 10:02:20.000000",
      "BTCUSDT 1011-1011 1 open - after 10:03:20.000005",
    ]);
    assert.deepEqual(full.reconciliation, []);
    assert.deepEqual(full.alerts, ["BTCUSDT 1 trade-id gaps not healed"]);
    // ETHUSDT's trades were never ingested: no time since the last ingest, rather than 0 (BTCUSDT's 0 at 10:05 is
    // the REST backfill of 1005, received at 10:11:20, after now_at)
    assert.deepEqual(full.sinceIngest, [
      "BTCUSDT 10:00 0.0",
      "BTCUSDT 10:05 0.0",
      "ETHUSDT 10:00 -",
      "ETHUSDT 10:05 -",
    ]);
  } finally {
    await paths.cleanUp();
  }
});
