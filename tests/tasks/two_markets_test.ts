/**
 * Spot and USDⓈ-M futures at once, end to end, every fault on: two local exchanges (one per market, the same
 * symbols and overlapping trade ids) → a producer per market → one real broker → a consumer per market → the lake →
 * refresh → reconcile per market. Each market's topic and lake hold exactly the ids its exchange made, once (futures
 * off-book trades lost in a gap excepted: REST never lists them, and the lake proves their absence), the two never
 * mix, and every closed minute's candle equals its exchange's kline on all nine fields.
 */
import assert from "node:assert/strict";
import { type Exchange, type ExchangeReport, startExchange } from "../../tasks/lib/exchange/server.ts";
import { type Market, marketLakeDir, marketProfile } from "../../tasks/lib/market.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { refreshMarts } from "../../tasks/lib/warehouse/builder.ts";
import { startTestBroker } from "../helpers/broker.ts";
import { queryRows } from "../helpers/duckdb.ts";
import { readTopic } from "../helpers/kafka.ts";
import { collectOutput, runDenoTask, spawnTask } from "../helpers/tasks.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const START_ID = 5_000_000;
const RUN_MS = 30_000;
const FAULTS = {
  malformed_json: 0.005,
  wrong_types: 0.005,
  missing_fields: 0.005,
  bad_price: 0.005,
  bad_qty: 0.005,
  unknown_event: 0.005,
  unsubscribed_symbol: 0.005,
  wrong_market: 0.005,
  duplicate: 0.01,
  out_of_order: 0.01,
  drop: 0.002,
};

Deno.test(
  "spot and usdm at once, every fault on: each market's topic and lake hold its exchange's ids once, candles equal its klines",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    const id = crypto.randomUUID();
    const lakeDir = `data/parquet/test-${id}`;
    const dbDir = `data/duckdb/test-${id}`;
    const stateDir = `data/producer/test-${id}`;
    await Deno.mkdir(`${PROJECT_ROOT}/${stateDir}`, { recursive: true });
    await Deno.mkdir(`${PROJECT_ROOT}/${dbDir}`, { recursive: true });
    // Reconcile checks closed minutes only: start where the run's first minute closes before the refresh.
    await sleep(untilRunCanStart(Date.now()));
    const exchanges: Record<Market, Exchange> = {
      spot: await startExchange({ port: 0, symbols: SYMBOLS, seed: 31, rate: 60, startId: START_ID, faults: FAULTS }),
      usdm: await startExchange({
        market: "usdm",
        port: 0,
        symbols: SYMBOLS,
        seed: 32,
        rate: 60,
        startId: START_ID,
        faults: FAULTS,
        nonMarketRate: 0.03,
      }),
    };
    const processes: { name: string; child: Deno.ChildProcess; text: () => string; done: Promise<void> }[] = [];
    const logs = () => processes.map((p) => `--- ${p.name} ---\n${p.text()}`).join("\n");
    try {
      for (const market of ["spot", "usdm"] as const) {
        const exchange = exchanges[market];
        const statePath = `${stateDir}/state-${market}.json`;
        await seedProducerState(statePath, market);
        const common = { ...broker.env, MARKET: market, LOG_FORMAT: "text" };
        const producerEnv = {
          ...common,
          BINANCE_WS_URL: `ws://127.0.0.1:${exchange.port}`,
          BINANCE_REST_URL: `http://127.0.0.1:${exchange.port}`,
          SYMBOLS: SYMBOLS.join(","),
          PRODUCER_STATE_PATH: statePath,
          PRODUCER_STALE_AFTER_S: "3",
          PRODUCER_METRICS_PORT: "0",
          ...(market === "usdm" ? { BINANCE_API_KEY: "local-test-key" } : {}),
        };
        const consumerEnv = { ...common, LAKE_DIR: lakeDir, CONSUMER_METRICS_PORT: "0" };
        for (const [task, env] of [["producer", producerEnv], ["consumer", consumerEnv]] as const) {
          const child = spawnTask(task, env);
          processes.push({ name: `${task} ${market}`, child, ...collectOutput(child) });
        }
      }
      await sleep(RUN_MS / 2);
      for (const exchange of Object.values(exchanges)) assert.ok(exchange.disconnectAll() > 0, "forced disconnect");
      await sleep(RUN_MS / 2);

      const made: Record<Market, ExchangeReport> = {
        spot: await halt(exchanges.spot),
        usdm: await halt(exchanges.usdm),
      };
      for (const market of ["spot", "usdm"] as const) {
        const expected = expectedIds(made[market]);
        const kafka = await readTopic(
          broker.brokers,
          marketProfile(market).tradesTopic,
          (messages) => messages.length >= expected.marketIds,
          90_000,
        );
        const envelopes = kafka.map((m) => JSON.parse(m.value) as Envelope);
        const inKafka = idsOf(withoutProofCopies(envelopes).map((e) => e.trade));
        assertExactly(inKafka, made[market], `${market} topic`, logs);
        await waitForLake(lakeDir, market, expected.marketIds, 90_000);
      }
      await sleep(2000); // a copy written late would show now
      for (const process of processes) process.child.kill("SIGTERM");
      for (const process of processes) {
        assert.equal((await process.child.status).code, 0, `${process.name} stops cleanly\n${logs()}`);
        await process.done;
      }
      for (const market of ["spot", "usdm"] as const) {
        const rows = await lakeRows(lakeDir, market);
        const lakeTrades = rows.map((r) => ({
          backfilled: r.provenance === "rest_backfill",
          source_prev_id: r.source_prev_trade_id === null ? undefined : Number(r.source_prev_trade_id),
          trade: { s: r.pair, t: Number(r.trade_id) },
        }));
        assertExactly(
          idsOf(withoutProofCopies(lakeTrades).map((e) => e.trade)),
          made[market],
          `${market} lake`,
          logs,
        );
        // The two markets' ids overlap; their datasets never share a row.
        assert.ok(rows.every((row) => (row.trade_type === null) === (market === "spot")), `${market}: trade types`);
      }

      const duckdbPath = `${dbDir}/crypto.duckdb`;
      const built = await refreshMarts({
        lakeDir: `${PROJECT_ROOT}/${lakeDir}`,
        duckdbPath: `${PROJECT_ROOT}/${duckdbPath}`,
        modelsDir: `${PROJECT_ROOT}/models`,
        variables: { health_stale_after_seconds: 60, health_warn_latency_ms: 2000 },
      });
      assert.equal(built.status, "built");
      if (built.status !== "built") return;
      assert.deepEqual(built.tests.filter((test) => test.failingRows > 0), [], "every data test passes");
      const gaps = await queryRows(
        "select market, status, count(*)::integer as n from marts.fct_trade_gaps group by all order by all",
        `${PROJECT_ROOT}/${duckdbPath}`,
      );
      assert.ok(gaps.every((row) => row.status !== "open"), `no gap left open: ${JSON.stringify(gaps)}`);

      for (const market of ["spot", "usdm"] as const) {
        const exchange = exchanges[market];
        // The exchanges are halted: every minute is final, nothing needs to settle.
        const result = await runDenoTask(["reconcile", "--fail-on-mismatch", "--settle-seconds", "0"], {
          MARKET: market,
          BINANCE_REST_URL: `http://127.0.0.1:${exchange.port}`,
          DUCKDB_PATH: duckdbPath,
          LAKE_DIR: lakeDir,
        });
        assert.equal(result.code, 0, `${market} reconcile\n${result.stdout}${result.stderr}`);
        const matched = Number(/: (\d+) match, 0 mismatch/.exec(result.stdout)?.[1]);
        assert.ok(matched > 0, `${market}: closed minutes were checked\n${result.stdout}`);
      }
      const nonMarketMinutes = await queryRows(
        `select count(*)::integer as n from marts.fct_kline_reconciliation k
         join marts.fct_trades_1m t using (market, pair, minute_at)
         where k.market = 'usdm' and k.status = 'match' and t.non_market_count > 0`,
        `${PROJECT_ROOT}/${duckdbPath}`,
      );
      assert.ok(Number(nonMarketMinutes[0]?.n) > 0, "minutes holding non-market trades were checked and match");
    } finally {
      for (const process of processes) {
        try {
          process.child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      for (const exchange of Object.values(exchanges)) await exchange.shutdown();
      for (const dir of [lakeDir, dbDir, stateDir]) {
        await Deno.remove(`${PROJECT_ROOT}/${dir}`, { recursive: true }).catch(() => {});
      }
    }
  },
);

/** A producer state that has seen every symbol up to just before the first id, so every trade made counts. */
async function seedProducerState(statePath: string, market: Market): Promise<void> {
  const symbols = Object.fromEntries(SYMBOLS.map((s) => [s, { highest: START_ID - 1, gaps: [] }]));
  const state = {
    version: 1,
    savedAtMs: 0,
    topic: marketProfile(market).tradesTopic,
    offsets: {},
    tracker: { symbols, gapsFound: 0, idsHealed: 0, gapsAbandoned: [] },
  };
  await Deno.writeTextFile(`${PROJECT_ROOT}/${statePath}`, JSON.stringify(state));
}

async function halt(exchange: Exchange): Promise<ExchangeReport> {
  const response = await fetch(`http://127.0.0.1:${exchange.port}/admin/halt`, { method: "POST" });
  return await response.json() as ExchangeReport;
}

/** How many of the ids made every copy must hold at least: all of them, less the futures' off-book ones. */
function expectedIds(report: ExchangeReport): { marketIds: number } {
  let marketIds = 0;
  for (const symbol of SYMBOLS) {
    const { count, nonMarketIds = [] } = report.symbols[symbol]!;
    marketIds += count - nonMarketIds.length;
  }
  return { marketIds };
}

function idsOf(trades: readonly { s: string; t: number }[]): Map<string, number> {
  const copies = new Map<string, number>();
  for (const { s, t } of trades) copies.set(`${s}:${t}`, (copies.get(`${s}:${t}`) ?? 0) + 1);
  return copies;
}

/**
 * Every id the exchange made is held once, but off-book futures ids may be missing (lost in a gap, and never listed
 * by REST); nothing else is held.
 */
function assertExactly(held: Map<string, number>, made: ExchangeReport, where: string, logs: () => string): void {
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const symbol of SYMBOLS) {
    const { firstId, lastId, nonMarketIds = [] } = made.symbols[symbol]!;
    assert.equal(firstId, START_ID, `${where}: ${symbol} starts at the first id`);
    const offBook = new Set(nonMarketIds);
    for (let id = firstId!; id <= lastId!; id++) {
      const key = `${symbol}:${id}`;
      expected.add(key);
      const copies = held.get(key) ?? 0;
      if (copies > 1 || (copies === 0 && !offBook.has(id))) problems.push(`${key} ${copies}×`);
    }
  }
  for (const key of held.keys()) if (!expected.has(key)) problems.push(`${key} never made`);
  assert.deepEqual(problems.slice(0, 20), [], `${where}: ${problems.length} problems\n${logs()}`);
}

async function waitForLake(lakeDir: string, market: Market, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const rows = await lakeRows(lakeDir, market).catch(() => []);
    if (rows.filter((row) => row.trade_type === null || row.trade_type === "MARKET").length >= count) return;
    await sleep(1000);
  }
}

interface LakeRowRead {
  pair: string;
  /** BIGINTs come back as text. */
  trade_id: string;
  trade_type: string | null;
  provenance: string;
  source_prev_trade_id: string | null;
}

interface Envelope {
  backfilled: boolean;
  source_prev_id?: number | undefined;
  trade: { s: string; t: number };
}

/**
 * Leaves out proof copies: REST's copy of a live trade above a gap whose top ids were off-book, published with
 * `source_prev_id` so the lake can tell the absence from a gap (the one second copy the producer writes on purpose;
 * staging keeps the live copy and the proof). Spot never has one.
 */
function withoutProofCopies(envelopes: readonly Envelope[]): Envelope[] {
  const live = new Set(envelopes.filter((e) => !e.backfilled).map((e) => `${e.trade.s}:${e.trade.t}`));
  return envelopes.filter((e) =>
    !(e.backfilled && e.source_prev_id !== undefined && live.has(`${e.trade.s}:${e.trade.t}`))
  );
}

async function lakeRows(lakeDir: string, market: Market): Promise<LakeRowRead[]> {
  const root = marketLakeDir(`${PROJECT_ROOT}/${lakeDir}`, market);
  return await queryRows(
    `select pair, trade_id, trade_type, provenance, source_prev_trade_id
     from read_parquet('${root}/pair=*/trade_date=*/hour=*/*.parquet', hive_partitioning = true, union_by_name = true)`,
  ) as unknown as LakeRowRead[];
}

/**
 * How long to wait so that the run starts 25–50 s into a minute: that minute then holds trades and has closed by the
 * refresh (the run, the lake's catch-up and the stop take more than 35 s), whatever second the test began at.
 */
function untilRunCanStart(nowMs: number): number {
  const second = (nowMs % 60_000) / 1000;
  if (second >= 25 && second <= 50) return 0;
  return (((25 - second) + 60) % 60) * 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
