/**
 * `deno task refresh` and the builder behind it, on small lakes written by the consumer's own writer: incremental
 * runs equal full rebuilds, concurrent runs and readers are safe, an empty lake is a clean skip, and a failing data
 * test says which rows fail.
 */
import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { generateLakeSql } from "../../tasks/lib/bench/generated_lake.ts";
import { refreshMarts, type RefreshSettings } from "../../tasks/lib/warehouse/builder.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { dlqMessage } from "../../tasks/lib/ingest/envelope.ts";
import { writeArchiveHour } from "../helpers/golden_lake.ts";
import { type FixtureTrade, writeDlq, writeLake } from "../helpers/lake.ts";
import { collectOutput, runDenoTask, spawnTask } from "../helpers/tasks.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(2025, 2, 1, 10, 0);

/** `count` trades of `pair` from id `firstId`, one every `stepMs` from `startMs`. */
function trades(pair: string, firstId: number, count: number, startMs: number, stepMs: number): FixtureTrade[] {
  return Array.from({ length: count }, (_, i) => {
    const id = firstId + i;
    return {
      pair,
      id,
      price: `${100 + (id % 37)}.${String(id % 100).padStart(2, "0")}`,
      qty: `0.${String((id * 7919) % 100_000_000).padStart(8, "0")}`,
      timeMs: startMs + i * stepMs,
      buyerMaker: id % 3 === 0,
    };
  });
}

/** A lake folder and a database path for one test, both where the task's permissions reach. */
function testPaths() {
  const id = crypto.randomUUID();
  const lakeDir = `data/parquet/test-${id}`;
  const dbDir = `data/duckdb/test-${id}`;
  return {
    lakeDir,
    lake: `${PROJECT_ROOT}/${lakeDir}`,
    duckdbPath: `${PROJECT_ROOT}/${dbDir}/crypto.duckdb`,
    env: { LAKE_DIR: lakeDir, DUCKDB_PATH: `${dbDir}/crypto.duckdb` },
    async cleanUp() {
      await Deno.remove(`${PROJECT_ROOT}/${lakeDir}`, { recursive: true }).catch(() => {});
      await Deno.remove(`${PROJECT_ROOT}/${dbDir}`, { recursive: true }).catch(() => {});
    },
  };
}

function settings(paths: ReturnType<typeof testPaths>, extra: Partial<RefreshSettings> = {}): RefreshSettings {
  return {
    lakeDir: paths.lake,
    duckdbPath: paths.duckdbPath,
    modelsDir: `${PROJECT_ROOT}/models`,
    nowMs: T0 + 3 * 60 * MINUTE,
    ...extra,
  };
}

async function query(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

Deno.test("refresh task skips an empty or missing lake cleanly", async () => {
  const paths = testPaths();
  try {
    const result = await runDenoTask(["refresh"], paths.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /no trades in the lake at .* yet; nothing to build/);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("an incremental refresh after new and late trades equals a full rebuild, row for row", async () => {
  const incremental = testPaths();
  const full = testPaths();
  try {
    // Two hours of trades; the first refresh sees the first 90 minutes.
    const btc = trades("BTCUSDT", 1, 540, T0, 10_000);
    const eth = trades("ETHUSDT", 1, 360, T0, 15_000);
    // ETHUSDT trade 100 never arrives: a gap.
    await writeLake(incremental.lake, [...btc.slice(0, 540 * 3 / 4), ...eth.slice(0, 270).filter((t) => t.id !== 100)]);
    const first = await refreshMarts(settings(incremental));
    assert.equal(first.status, "built");
    const unchanged = await refreshMarts(settings(incremental));
    assert.ok(unchanged.status === "built" && unchanged.models.every((m) => m.how !== "incremental"));
    assert.ok(unchanged.status === "built" && unchanged.rebuiltFrom === undefined);

    // New trades, and late ones: an earlier hour's file arrives after the first refresh (a duplicate among them).
    await writeLake(incremental.lake, [...btc.slice(405), ...eth.slice(270).filter((t) => t.id !== 305)], {
      firstOffset: 10_000,
    });
    await writeLake(incremental.lake, [...trades("SOLUSDT", 1, 30, T0 + 5 * MINUTE, 1000), btc[3]!], {
      firstOffset: 20_000,
      kafkaPartition: 1,
    });
    // An archive import of ETHUSDT 300-310, in µs: it fills 305, which the stream missed, and overlaps the rest (303
    // disagrees). (Healing the gap at 100 would resolve an alert the full rebuild never opened.)
    await writeArchiveHour(
      incremental.lake,
      "ETHUSDT",
      eth.slice(299, 310).map((t) => ({
        id: t.id,
        price: t.id === 303 ? "1.00" : t.price,
        qty: t.qty,
        timeUs: t.timeMs * 1000 + 123,
        buyerMaker: t.buyerMaker ?? false,
      })),
      { timeUnit: "us", writtenAtMs: T0 + 100 * MINUTE },
    );
    // And the first dead letters: the DLQ tables are rebuilt on every run.
    await writeDlq(
      incremental.lake,
      0,
      0,
      [T0 + 7 * MINUTE, T0 + 70 * MINUTE].map((atMs) => ({
        value: dlqMessage("{}", "missing_field", "t", atMs, "ETHUSDT").value,
        atMs,
      })),
    );
    const second = await refreshMarts(settings(incremental));
    assert.ok(second.status === "built", JSON.stringify(second));
    assert.equal(second.mode, "incremental");
    assert.equal(second.rebuiltFrom, "2025-03-01 09:55:00", "from the late file's hour minus the look-back");
    assert.ok(second.models.some((m) => m.how === "incremental"));
    assert.deepEqual(second.tests.filter((t) => t.failingRows > 0), []);

    // The same lake, built from scratch.
    await Deno.mkdir(full.lake, { recursive: true });
    await new Deno.Command("cp", { args: ["-r", `${incremental.lake}/.`, full.lake] }).output();
    const rebuilt = await refreshMarts(settings(full, { full: true }));
    assert.ok(rebuilt.status === "built" && rebuilt.mode === "full");

    const tables = await query(
      incremental.duckdbPath,
      "select table_schema || '.' || table_name as name from information_schema.tables " +
        "where table_schema in ('staging', 'intermediate', 'marts') and table_type = 'BASE TABLE' " +
        "and table_name <> 'fct_kline_reconciliation' order by 1", // kept by deno task reconcile
    );
    assert.ok(tables.length >= 6, JSON.stringify(tables));
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      await connection.run(`attach '${incremental.duckdbPath}' as incremental (read_only)`);
      await connection.run(`attach '${full.duckdbPath}' as rebuilt (read_only)`);
      for (const { name } of tables) {
        const reader = await connection.runAndReadAll(
          `select (select count(*) from incremental.${name}) as rows,
             (select count(*) from (select * from incremental.${name} except all select * from rebuilt.${name})) +
             (select count(*) from (select * from rebuilt.${name} except all select * from incremental.${name}))
             as differing`,
        );
        const [row] = reader.getRowObjectsJson();
        assert.equal(Number(row!.differing), 0, `${name}: ${JSON.stringify(row)}`);
        assert.ok(Number(row!.rows) > 0, `${name} has rows`);
      }
      const [staged] = (await connection.runAndReadAll(
        "select count(*) as n from incremental.staging.stg_trades",
      )).getRowObjectsJson();
      assert.equal(Number(staged!.n), 540 + 359 + 30, "one row per trade, the duplicate once");
      const archive = (await connection.runAndReadAll(
        "select overlapping_trades || ' ' || disagreeing_trades || ' ' || differing_fields::varchar as r " +
          "from incremental.marts.fct_archive_reconciliation union all " +
          "select from_trade_id || ' ' || status || ' ' || coalesce(healed_by, '-') " +
          "from incremental.marts.fct_trade_gaps where pair = 'ETHUSDT' order by 1",
      )).getRowObjectsJson().map((row) => row.r);
      assert.deepEqual(archive, ["10 1 [price]", "100 open -", "305 healed archive"]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  } finally {
    await incremental.cleanUp();
    await full.cleanUp();
  }
});

Deno.test("refresh task: a second concurrent run exits 0 at once, and a reader keeps its database open", async () => {
  const paths = testPaths();
  try {
    await writeLake(paths.lake, trades("BTCUSDT", 1, 20_000, T0, 200));
    const first = await runDenoTask(["refresh"], paths.env);
    assert.equal(first.code, 0, first.stderr + first.stdout);

    // A notebook holds the published database open, read-only, for the whole refresh.
    const reader = await DuckDBInstance.create(paths.duckdbPath, { access_mode: "READ_ONLY" });
    const readerConnection = await reader.connect();
    const count = async () =>
      Number(
        (await readerConnection.runAndReadAll("select count(*) as n from staging.stg_trades"))
          .getRowObjectsJson()[0]!.n,
      );
    assert.equal(await count(), 20_000);
    await writeLake(paths.lake, trades("BTCUSDT", 20_001, 5000, T0 + 20_000 * 200, 200), { firstOffset: 20_000 });

    const a = spawnTask("refresh", { ...paths.env });
    const b = spawnTask("refresh", { ...paths.env, NO_COLOR: "1" });
    const [outA, outB] = [collectOutput(a), collectOutput(b)];
    const [statusA, statusB] = await Promise.all([a.status, b.status]);
    await Promise.all([outA.done, outB.done]);
    assert.deepEqual([statusA.code, statusB.code], [0, 0], outA.text() + outB.text());
    const texts = [outA.text(), outB.text()];
    assert.equal(texts.filter((t) => /another refresh is running/.test(t)).length, 1, texts.join("\n---\n"));
    assert.equal(texts.filter((t) => /refresh: incremental/.test(t)).length, 1, texts.join("\n---\n"));

    assert.equal(await count(), 20_000, "the open reader still sees the database it opened");
    readerConnection.closeSync();
    reader.closeSync();
    const [after] = await query(paths.duckdbPath, "select count(*) as n from staging.stg_trades");
    assert.equal(Number(after!.n), 25_000, "a new reader sees the new marts");
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("refresh task prints the failing rows of a data test and exits 1", async () => {
  const paths = testPaths();
  try {
    await writeLake(paths.lake, trades("BTCUSDT", 1, 100, T0, 1000));
    // A file in the wrong hour folder: its trades are not in the hour their partition says.
    const hour = (hh: string) => `${paths.lake}/pair=BTCUSDT/trade_date=2025-03-01/hour=${hh}`;
    await Deno.mkdir(hour("07"));
    await Deno.rename(`${hour("10")}/part-0-00000000000000000000.parquet`, `${hour("07")}/misplaced.parquet`);
    const result = await runDenoTask(["refresh"], paths.env);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /FAILED trades_in_their_partition_hour: 100 rows, for example:\n {2}\{.*"trade_id"/);
    assert.match(result.stdout, /tests \d+ passed, \d+ failed/);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("refresh task gives up at --timeout, publishes nothing and leaves no partial file", async () => {
  const paths = testPaths();
  try {
    // A lake big enough that a full build takes seconds: 3,000,000 trades over a day, written by DuckDB directly.
    await Deno.mkdir(paths.lake, { recursive: true });
    const generator = await DuckDBInstance.create(":memory:");
    const connection = await generator.connect();
    const range = { perSymbol: 1_000_000, firstId: 1, startUs: T0 * 1000, stepUs: 86_400 };
    await connection.run(generateLakeSql(paths.lake, range, "part-generated"));
    connection.closeSync();
    generator.closeSync();

    const result = await runDenoTask(["refresh", "--timeout", "1"], paths.env);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /^refresh: Gave up after 1 s \(--timeout\); nothing was published/);
    const left = await Array.fromAsync(Deno.readDir(paths.duckdbPath.replace(/\/crypto\.duckdb$/, "")));
    assert.deepEqual(left.map((entry) => entry.name).filter((name) => !name.endsWith(".lock")), []);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("models:docs task prints the lineage graph and every model's columns", async () => {
  const result = await runDenoTask(["models:docs"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /```mermaid\nflowchart LR\n/);
  assert.match(result.stdout, /staging_stg_trades --> intermediate_int_trades_1m/);
  assert.match(result.stdout, /intermediate_int_trades_1m --> marts_fct_candles_1m/);
  assert.match(result.stdout, /## marts.fct_candles_1m \(incremental on `minute_at`\)/);
  assert.match(result.stdout, /\| `vwap` \| /);
});
