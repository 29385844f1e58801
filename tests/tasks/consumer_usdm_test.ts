/**
 * The usdm consumer end to end on a real broker: usdm envelopes in crypto.trades.usdm.v1 → `deno task consumer` with
 * MARKET=usdm → Parquet files under LAKE_DIR/_usdm, with their trade types and source_prev_trade_id; a spot envelope
 * on that topic goes to the usdm DLQ (and its `_dlq`), and the spot dataset at LAKE_DIR is left exactly as it was.
 */
import assert from "node:assert/strict";
import { Partitioners } from "kafkajs";
import { createKafka } from "../../tasks/lib/kafka/client.ts";
import { FUTURES_TRADE_TYPES, marketProfile } from "../../tasks/lib/market.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { startTestBroker } from "../helpers/broker.ts";
import { writeLake } from "../helpers/lake.ts";
import { collectOutput, spawnTask } from "../helpers/tasks.ts";
import { countParquetRows as count, queryRows as query } from "../helpers/duckdb.ts";

const kafkaTest = { sanitizeOps: false, sanitizeResources: false };
const USDM = marketProfile("usdm");
const TRADES = 3000;
const START_MS = Date.UTC(2025, 2, 1, 22, 30);

Deno.test(
  "the usdm consumer writes LAKE_DIR/_usdm only, with trade types and source ids (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    const kafka = createKafka(broker.brokers, { quiet: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [USDM.tradesTopic, USDM.dlqTopic].map((topic) => ({
        topic,
        numPartitions: 2,
        replicationFactor: 1,
        configEntries: [{ name: "message.timestamp.type", value: "LogAppendTime" }],
      })),
    });
    await admin.disconnect();

    const lakeDir = `data/parquet/test-${crypto.randomUUID()}`;
    const root = `${PROJECT_ROOT}/${lakeDir}`;
    try {
      // The spot dataset already holds a BTCUSDT hour: the usdm consumer must not touch it.
      await writeLake(root, [
        { pair: "BTCUSDT", id: 1, price: "84000.01", qty: "0.5", timeMs: START_MS },
        { pair: "BTCUSDT", id: 2, price: "84000.02", qty: "0.25", timeMs: START_MS + 1 },
      ]);
      const spotBefore = await snapshot(root);

      const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const messages = Array.from({ length: TRADES }, (_, n) => {
        const symbol = n % 2 === 0 ? "BTCUSDT" : "ETHUSDT";
        const id = Math.floor(n / 2) + 1000;
        const time = START_MS + n * 10;
        const tradeType = FUTURES_TRADE_TYPES[id % 4]!;
        // Every tenth a healed trade: no E, and the id its source listed before it.
        const healed = id % 10 === 0;
        const trade = `{"e":"trade",${healed ? "" : `"E":${time + 2},`}"T":${time},"s":"${symbol}","t":${id},` +
          `"p":"${id}.1","q":"0.001","X":"${tradeType}","m":${id % 3 === 0}}`;
        const value = `{"schema_version":1,"source":"binance","market":"usdm","time_unit":"ms",` +
          `"ingested_at_ms":${time + 5},"backfilled":${healed},${healed ? `"source_prev_id":${id - 2},` : ""}` +
          `"trade":${trade}}`;
        return { key: symbol, value };
      });
      // A spot envelope on the usdm topic: a dead letter, never a row of the futures dataset.
      messages.push({
        key: "BTCUSDT",
        value: `{"schema_version":1,"source":"binance","time_unit":"ms","ingested_at_ms":${START_MS},` +
          `"backfilled":false,"trade":{"e":"trade","E":${START_MS},"s":"BTCUSDT","t":3,"p":"84000.03","q":"1",` +
          `"T":${START_MS},"m":true,"M":true}}`,
      });
      await producer.send({ topic: USDM.tradesTopic, acks: -1, messages });
      await producer.disconnect();

      const usdmGlob = `${root}/_usdm/pair=*/*/*/*.parquet`;
      const child = spawnTask("consumer", {
        ...broker.env,
        LAKE_DIR: lakeDir,
        MARKET: "usdm",
        CONSUMER_METRICS_PORT: "0",
      });
      const output = collectOutput(child);
      const deadline = Date.now() + 90_000;
      while (
        (await count(usdmGlob) < TRADES || await count(`${root}/_usdm/_dlq/*/*.parquet`) < 1) && Date.now() < deadline
      ) {
        await sleep(300);
      }
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0, output.text());
      await output.done;
      assert.match(output.text(), /crypto\.trades\.usdm\.v1/);
      const summary = JSON.parse(output.text().split("\n").find((line) => line.includes('"consumer_summary"'))!);
      assert.equal(summary.rows, TRADES, output.text());
      assert.deepEqual(summary.dlq, { wrong_market: 1 });

      const [totals] = await query(
        `select count(*) as n, count(distinct (pair, trade_id)) as ids,
         count(*) filter (where trade_type is null) as untyped,
         count(*) filter (where is_best_match is not null) as best_matches,
         count(*) filter (where source_prev_trade_id is not null) as healed,
         count(*) filter (where source_prev_trade_id is not null and source_prev_trade_id <> trade_id - 2) as wrong_prev,
         count(*) filter (where trade_type <> ['MARKET', 'INSURANCE_FUND', 'ADL', 'NA'][trade_id % 4 + 1]) as wrong_type
       from read_parquet('${usdmGlob}', hive_partitioning = true, union_by_name = true)`,
      );
      assert.deepEqual(
        Object.fromEntries(Object.entries(totals!).map(([key, value]) => [key, Number(value)])),
        { n: TRADES, ids: TRADES, untyped: 0, best_matches: 0, healed: TRADES / 10, wrong_prev: 0, wrong_type: 0 },
      );
      const [dlq] = await query(`select reason, stage from read_parquet('${root}/_usdm/_dlq/*/*.parquet')`);
      assert.deepEqual([dlq!.reason, dlq!.stage], ["wrong_market", "consumer"]);

      // Spot: the same files with the same bytes, and its readers' glob still sees exactly them.
      assert.deepEqual(await snapshot(root), spotBefore);
      assert.equal(await count(`${root}/pair=*/*/*/*.parquet`), 2);
      // The futures BTCUSDT has a folder of its own.
      const usdmPairs = (await Array.fromAsync(Deno.readDir(`${root}/_usdm`))).map((entry) => entry.name).sort();
      assert.deepEqual(usdmPairs.filter((name) => name.startsWith("pair=")), ["pair=BTCUSDT", "pair=ETHUSDT"]);
      const rootEntries = (await Array.fromAsync(Deno.readDir(root))).map((entry) => entry.name).sort();
      assert.deepEqual(rootEntries.filter((name) => name.startsWith("pair=")), ["pair=BTCUSDT"]);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
);

/** Every file under `root` but `_usdm`, with its bytes' digest. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (dir: string, relative: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${relative}${entry.name}`;
      if (path === "_usdm") continue;
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`, `${path}/`);
      else {
        const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${dir}/${entry.name}`));
        files[path] = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
      }
    }
  };
  await walk(root, "");
  return files;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
