/**
 * The consumer end to end: records in crypto.trades.v1 → `deno task consumer` → Parquet files read back with DuckDB.
 * Every trade lands exactly once, across restarts and kill -9s, with exact decimals and the Hive partitions recognised;
 * so does every record of crypto.trades.dlq.v1, in the lake's `_dlq` folder, which the trades' readers never see.
 * The trades are dated a year and more back, like a replay: the topics' LogAppendTime keeps retention from
 * deleting them before the consumer reads them.
 */
import assert from "node:assert/strict";
import { Partitioners } from "kafkajs";
import { dlqMessage, tradeMessage } from "../../tasks/lib/ingest/envelope.ts";
import { createKafka } from "../../tasks/lib/kafka/client.ts";
import { DLQ_TOPIC, TRADES_TOPIC } from "../../tasks/lib/kafka/topics.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { VENV_PYTHON } from "../../tasks/lib/python_env.ts";
import { fileNames, hourPartitions } from "../../tasks/lib/lake/storage/listing.ts";
import { startTestBroker } from "../helpers/broker.ts";
import { readTopic } from "../helpers/kafka.ts";
import { freePort, metricSum, scrapeUntil } from "../helpers/metrics.ts";
import { collectOutput, runDenoTask, spawnTask } from "../helpers/tasks.ts";
import { countParquetRows as lakeCount, queryRows as query } from "../helpers/duckdb.ts";

const kafkaTest = { sanitizeOps: false, sanitizeResources: false };
const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const TRADES = 210_000; // a multiple of 3 symbols and of the 5,000-message sends
const START_MS = Date.UTC(2025, 2, 1, 22, 30);

Deno.test(
  "consumer writes every trade to the lake exactly once, across a restart (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    // The second half is sent only once the first run has stopped, so that run always stops part-way.
    await fillTopic(broker.brokers, 0, { to: TRADES / 2 });

    const lakeDir = `data/parquet/test-${crypto.randomUUID()}`;
    const metricsPort = freePort();
    const env = { ...broker.env, LAKE_DIR: lakeDir, CONSUMER_METRICS_PORT: String(metricsPort), LOG_FORMAT: "json" };
    const lakeGlob = `${PROJECT_ROOT}/${lakeDir}/pair=*/**/*.parquet`;
    const outputs: (() => string)[] = [];
    try {
      // A first run that stops cleanly part-way, then a second that finishes the topic.
      const first = spawnTask("consumer", env);
      const firstOutput = collectOutput(first);
      outputs.push(firstOutput.text);
      while (await lakeCount(lakeGlob) === 0) await sleep(200);
      first.kill("SIGTERM");
      assert.equal((await first.status).code, 0, firstOutput.text());
      await firstOutput.done;
      await fillTopic(broker.brokers, 0, { from: TRADES / 2 });
      const consumer = spawnTask("consumer", env);
      const output = collectOutput(consumer);
      outputs.push(output.text);
      const deadline = Date.now() + 90_000;
      while (await lakeCount(lakeGlob) < TRADES && Date.now() < deadline) await sleep(500);
      await waitForDlqLake(broker.brokers, lakeDir);
      // Scraped while it runs: the second run's rows are the ones the first did not write.
      const firstRows = summaryOf(firstOutput.text()).rows;
      const metrics = await scrapeUntil(
        metricsPort,
        (text) => metricSum(text, "crypto_consumer_rows_written_total") >= TRADES - firstRows,
      );
      consumer.kill("SIGTERM");
      assert.equal((await consumer.status).code, 0, output.text());
      await output.done;
      const logs = outputs.map((text, i) => `--- run ${i + 1}\n${text()}`).join("\n");
      assert.equal(await lakeCount(lakeGlob), TRADES, logs);
      assert.equal(metricSum(metrics, "crypto_consumer_rows_written_total"), TRADES - firstRows, metrics);
      assert.ok(metricSum(metrics, "crypto_consumer_files_written_total") > 0, metrics);
      assert.match(metrics, /^crypto_consumer_flush_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
      assert.equal(summaryOf(output.text()).rows, TRADES - firstRows);
      const logLine = JSON.parse(output.text().split("\n").find((line) => line.startsWith('{"ts":'))!);
      assert.deepEqual([logLine.level, logLine.component, typeof logLine.msg], ["info", "consumer", "string"]);

      const lake = await query(
        `select pair, count(*) as trades, count(distinct trade_id) as ids, min(trade_id) as first, max(trade_id) as last
       from read_parquet('${lakeGlob}', hive_partitioning = true, union_by_name = true) group by pair order by pair`,
      );
      assert.deepEqual(
        lake.map((r) => [r.pair, Number(r.trades), Number(r.ids), Number(r.first), Number(r.last)]),
        SYMBOLS.toSorted().map((s) => [s, TRADES / 3, TRADES / 3, 1, TRADES / 3]),
        logs,
      );

      const [types] = await query(
        `select typeof(price) as price, typeof(quantity) as quantity, typeof(trade_time) as trade_time,
              typeof(hour) as hour, typeof(trade_date) as trade_date
       from read_parquet('${lakeGlob}', hive_partitioning = true, hive_types = {'hour': integer}, union_by_name = true) limit 1`,
      );
      assert.deepEqual(types, {
        price: "DECIMAL(20,8)",
        quantity: "DECIMAL(20,8)",
        trade_time: "TIMESTAMP",
        hour: "INTEGER",
        trade_date: "DATE",
      });
      const [exact] = await query(
        `select sum(price * quantity)::varchar as quote, count(producer_id) as v2
         from read_parquet('${lakeGlob}', hive_partitioning = true, union_by_name = true)`,
      );
      assert.equal(exact!.quote, expectedQuoteVolume(), "decimals survive exactly");
      assert.equal(Number(exact!.v2), 5000, "envelope v2 rows keep their added field");

      // An engine that is not ours (pyarrow) sees the same rows, the Hive partitions and exact decimal types.
      const pyarrow = await new Deno.Command(VENV_PYTHON, {
        args: [`${PROJECT_ROOT}/tests/testdata/read_lake_with_pyarrow.py`, `${PROJECT_ROOT}/${lakeDir}`],
      }).output();
      assert.ok(pyarrow.success, new TextDecoder().decode(pyarrow.stderr));
      const seen = JSON.parse(new TextDecoder().decode(pyarrow.stdout));
      assert.equal(seen.rows, TRADES);
      assert.deepEqual(seen.trades_per_pair, Object.fromEntries(SYMBOLS.map((s) => [s, TRADES / 3])));
      assert.equal(seen.types.price, "decimal128(20, 8)");
      assert.equal(seen.types.quantity, "decimal128(20, 8)");
      assert.equal(seen.types.trade_time, "timestamp[us]");
      assert.equal(seen.types.hour, "int32");
      assert.ok(seen.hours.length >= 5, `several hour partitions: ${seen.hours}`);

      // The consumer's own dead letters (they name their source record), beside the 5 fillTopic sent directly.
      const dlq = await readTopic(broker.brokers, DLQ_TOPIC, (m) => m.length >= 8, 20_000);
      const reasons = dlq.flatMap((m) => m.value.startsWith("{") ? [JSON.parse(m.value)] : [])
        .filter((record) => record.source).map((record) => record.reason).sort();
      assert.deepEqual(reasons, ["invalid_symbol", "invalid_symbol", "malformed_json"]);
      const pairs = (await Array.fromAsync(Deno.readDir(`${PROJECT_ROOT}/${lakeDir}`)))
        .filter((e) => e.isDirectory).map((e) => e.name).sort();
      assert.deepEqual(
        pairs,
        ["_dlq", ...SYMBOLS.toSorted().map((s) => `pair=${s}`)],
        "only real symbols became folders",
      );
      // The DLQ in the lake: the records sent directly and the consumer's own, each once, across the restart.
      const dlqLake = await assertDlqLakeExactlyOnce(broker.brokers, lakeDir, logs);
      assert.deepEqual(dlqLake.reasons, [
        "consumer invalid_symbol 2",
        "consumer malformed_json 1",
        "producer invalid_decimal 2",
        "producer malformed_json 1",
        "producer unsubscribed_symbol 1",
        "unknown undecodable_dlq_record 1",
      ]);
      assert.ok(
        !await exists(`${PROJECT_ROOT}/data/parquet/x`),
        "a path-injection symbol wrote nothing beside the lake",
      );
      assert.ok(!await exists(`${PROJECT_ROOT}/data/x`), "a path-injection symbol wrote nothing outside the lake");

      // The hours are long closed and every file is committed: compaction leaves one file per hour, same rows.
      const hours = await hourPartitions(`${PROJECT_ROOT}/${lakeDir}`);
      const lakeFiles = async (path: string) => (await fileNames(path)).filter((name) => name.endsWith(".parquet"));
      // The restart split some hours into several files: those are the ones to merge.
      let filesToMerge = 0;
      let hoursToMerge = 0;
      for (const hour of hours) {
        const files = (await lakeFiles(hour.path)).length;
        if (files > 1) [filesToMerge, hoursToMerge] = [filesToMerge + files, hoursToMerge + 1];
      }
      assert.ok(hoursToMerge > 0, "the restart left an hour in several files");
      const compact = await runDenoTask(["compact", "--grace-minutes", "0"], env);
      assert.equal(compact.code, 0, compact.stderr);
      assert.match(
        compact.stdout,
        new RegExp(`merged ${filesToMerge} files in ${hoursToMerge} of ${hours.length} hour`),
      );
      for (const hour of hours) assert.equal((await lakeFiles(hour.path)).length, 1, hour.path);
      const [after] = await query(
        `select count(*) as trades, count(distinct (pair, trade_id)) as ids
         from read_parquet('${lakeGlob}', hive_partitioning = true, union_by_name = true)`,
      );
      assert.deepEqual([Number(after!.trades), Number(after!.ids)], [TRADES, TRADES]);
      const again = await runDenoTask(["compact", "--grace-minutes", "0"], env);
      assert.match(again.stdout, /compact: merged 0 files in 0 of/, again.stderr);
    } finally {
      await Deno.remove(`${PROJECT_ROOT}/${lakeDir}`, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test(
  "consumer writes every trade exactly once through five kill -9s at random moments (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    await fillTopic(broker.brokers);
    const lakeDir = `data/parquet/test-${crypto.randomUUID()}`;
    const env = { ...broker.env, LAKE_DIR: lakeDir };
    const lakeGlob = `${PROJECT_ROOT}/${lakeDir}/pair=*/**/*.parquet`;
    const outputs: (() => string)[] = [];
    try {
      for (let kill = 0; kill < 5; kill++) {
        const consumer = spawnTask("consumer", env);
        const output = collectOutput(consumer);
        outputs.push(output.text);
        await sleep(1500 + Math.random() * 3000);
        consumer.kill("SIGKILL");
        await consumer.status;
        await output.done;
      }
      const consumer = spawnTask("consumer", env);
      const output = collectOutput(consumer);
      outputs.push(output.text);
      const deadline = Date.now() + 90_000;
      while (await lakeCount(lakeGlob) < TRADES && Date.now() < deadline) await sleep(500);
      await waitForDlqLake(broker.brokers, lakeDir);
      await sleep(1000); // a duplicate written late would show now
      consumer.kill("SIGTERM");
      assert.equal((await consumer.status).code, 0, output.text());
      await output.done;
      const logs = outputs.map((text, i) => `--- run ${i + 1}\n${text()}`).join("\n");
      await assertDlqLakeExactlyOnce(broker.brokers, lakeDir, logs);
      const lake = await query(
        `select pair, count(*) as trades, count(distinct trade_id) as ids, min(trade_id) as first, max(trade_id) as last
       from read_parquet('${lakeGlob}', hive_partitioning = true, union_by_name = true) group by pair order by pair`,
      );
      assert.deepEqual(
        lake.map((r) => [r.pair, Number(r.trades), Number(r.ids), Number(r.first), Number(r.last)]),
        SYMBOLS.toSorted().map((s) => [s, TRADES / 3, TRADES / 3, 1, TRADES / 3]),
        logs,
      );
    } finally {
      await Deno.remove(`${PROJECT_ROOT}/${lakeDir}`, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test(
  "consumers joining, leaving and dying mid-stream write every trade exactly once (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    const lakeDir = `data/parquet/test-${crypto.randomUUID()}`;
    const env = { ...broker.env, LAKE_DIR: lakeDir };
    const lakeGlob = `${PROJECT_ROOT}/${lakeDir}/pair=*/**/*.parquet`;
    const outputs: (() => string)[] = [];
    const start = () => {
      const child = spawnTask("consumer", env);
      const output = collectOutput(child);
      outputs.push(output.text);
      return { child, output };
    };
    try {
      // Trades keep arriving for about 10 s while the group changes under them: every change is a rebalance that
      // takes partitions away from a consumer with files in flight.
      const filling = fillTopic(broker.brokers, 250);
      const a = start();
      while (await lakeCount(lakeGlob) === 0) await sleep(200);
      const b = start(); // joins: a gives up partitions
      await sleep(3000);
      a.child.kill("SIGTERM"); // leaves cleanly: b takes everything
      assert.equal((await a.child.status).code, 0, a.output.text());
      const c = start(); // joins: b gives up partitions
      await sleep(3000);
      b.child.kill("SIGKILL"); // dies: c takes its partitions once its session expires
      await b.child.status;
      await filling;
      const deadline = Date.now() + 90_000;
      while (await lakeCount(lakeGlob) < TRADES && Date.now() < deadline) await sleep(500);
      await sleep(1000); // a duplicate written late would show now
      c.child.kill("SIGTERM");
      assert.equal((await c.child.status).code, 0, c.output.text());
      await Promise.all([a.output.done, b.output.done, c.output.done]);
      const logs = outputs.map((text, i) => `--- consumer ${"abc"[i]}\n${text()}`).join("\n");
      const lake = await query(
        `select pair, count(*) as trades, count(distinct trade_id) as ids
         from read_parquet('${lakeGlob}', hive_partitioning = true, union_by_name = true) group by pair order by pair`,
      );
      assert.deepEqual(
        lake.map((r) => [r.pair, Number(r.trades), Number(r.ids)]),
        SYMBOLS.toSorted().map((s) => [s, TRADES / 3, TRADES / 3]),
        logs,
      );
    } finally {
      await Deno.remove(`${PROJECT_ROOT}/${lakeDir}`, { recursive: true }).catch(() => {});
    }
  },
);

/**
 * 210,000 trades over three symbols and six trade hours, plus three records the consumer must refuse; sent in
 * batches of 5,000, `pauseMs` apart.
 */
/** Sends trades `from` to `to` (multiples of 5,000): all of them unless told; with the last, a few dead letters. */
async function fillTopic(
  brokers: { host: string; port: number }[],
  pauseMs = 0,
  { from = 0, to = TRADES } = {},
): Promise<void> {
  const kafka = createKafka(brokers, { quiet: true });
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let start = from; start < to; start += 5000) {
    const messages = Array.from({ length: 5000 }, (_, i) => {
      const n = start + i;
      const symbol = SYMBOLS[n % 3]!;
      const id = Math.floor(n / 3) + 1;
      const time = START_MS + n * 100; // 20,000 s: several hour partitions
      return tradeMessage(
        { e: "trade", E: time + 1, s: symbol, t: id, p: price(id), q: quantity(id), T: time, m: id % 2 === 0, M: true },
        time + 5,
        false,
      );
    });
    if (start === 100_000) {
      const bad = (symbol: string) =>
        tradeMessage({ e: "trade", E: 1, s: symbol, t: 1, p: "1", q: "1", T: 1, m: true }, 1, false);
      messages.push({ ...bad("AAA"), value: bad("AAA").value.replace('"AAA"', '"../../x"') });
      messages.push({ ...bad("AAA"), value: bad("AAA").value.replace('"AAA"', '"BTC/USDT"') });
      messages.push({ key: "BTCUSDT", value: "{not json", timestamp: "1" });
    }
    if (start === TRADES - 5000) {
      // The last 5,000 in envelope v2, which adds producer_id: the lake holds both, read with union_by_name.
      for (const message of messages) {
        message.value = message.value.replace('{"schema_version":1,', '{"schema_version":2,"producer_id":"p-2",');
      }
    }
    await producer.send({ topic: TRADES_TOPIC, acks: -1, messages });
    if (pauseMs > 0) await sleep(pauseMs);
  }
  if (to < TRADES) return await producer.disconnect();
  // Dead letters as the producer sends them, and one the DLQ sink cannot read (kept, never dropped).
  const dlq = [
    dlqMessage("{not json", "malformed_json", "Unexpected token", START_MS),
    dlqMessage('{"s":"BTCUSDT","p":"1e3"}', "invalid_decimal", "p", START_MS + 1000, "BTCUSDT"),
    dlqMessage('{"s":"ETHUSDT","q":"-"}', "invalid_decimal", "q", START_MS + 2000, "ETHUSDT"),
    dlqMessage('{"s":"DOGEUSDT"}', "unsubscribed_symbol", "DOGEUSDT", START_MS + 3000, "DOGEUSDT"),
    { key: null, value: "not a DLQ record", timestamp: String(START_MS) },
  ];
  await producer.send({ topic: DLQ_TOPIC, acks: -1, messages: dlq });
  await producer.disconnect();
}

/** Records of crypto.trades.dlq.v1 (all of them: its offsets start at 0 and nothing expired). */
async function dlqTopicRecords(brokers: { host: string; port: number }[]): Promise<number> {
  const admin = createKafka(brokers, { quiet: true }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(DLQ_TOPIC)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Waits (up to 30 s) until the lake's `_dlq` holds as many rows as the DLQ topic has records. */
async function waitForDlqLake(brokers: { host: string; port: number }[], lakeDir: string): Promise<void> {
  const glob = `${PROJECT_ROOT}/${lakeDir}/_dlq/*/*.parquet`;
  const deadline = Date.now() + 30_000;
  while (await lakeCount(glob) < await dlqTopicRecords(brokers) && Date.now() < deadline) await sleep(500);
}

/**
 * Every record of the DLQ topic is in `_dlq` once, by (partition, offset), and DuckDB reads the folder with its
 * Hive date; returns the rows per stage and reason.
 */
async function assertDlqLakeExactlyOnce(
  brokers: { host: string; port: number }[],
  lakeDir: string,
  logs: string,
): Promise<{ reasons: string[] }> {
  const glob = `${PROJECT_ROOT}/${lakeDir}/_dlq/*/*.parquet`;
  const [totals] = await query(
    `select count(*) as n, count(distinct (kafka_partition, kafka_offset)) as records,
       count(*) filter (where received_date = received_at::date) as dated, min(typeof(received_at)) as type
     from read_parquet('${glob}', hive_partitioning = true, hive_types = {'received_date': date})`,
  );
  const expected = await dlqTopicRecords(brokers);
  assert.deepEqual(
    [Number(totals!.n), Number(totals!.records), Number(totals!.dated), totals!.type],
    [expected, expected, expected, "TIMESTAMP"],
    logs,
  );
  const reasons = await query(
    `select stage || ' ' || reason || ' ' || count(*) as line from read_parquet('${glob}') group by stage, reason
     order by line`,
  );
  return { reasons: reasons.map((row) => String(row.line)) };
}

function price(id: number): string {
  return `${60000 + (id % 997)}.${String(id % 100).padStart(2, "0")}000000`;
}

function quantity(id: number): string {
  return `0.${String((id * 7919) % 100_000_000).padStart(8, "0")}`;
}

function expectedQuoteVolume(): string {
  // Σ price × quantity in integers: prices have 2 decimals, quantities 8, so the sum has 10.
  let sum = 0n;
  for (let n = 0; n < TRADES; n++) {
    const id = Math.floor(n / 3) + 1;
    const p = BigInt(60000 + (id % 997)) * 100n + BigInt(id % 100);
    sum += p * BigInt((id * 7919) % 100_000_000);
  }
  const digits = sum.toString().padStart(11, "0");
  // DuckDB types price × quantity of two DECIMAL(20, 8) as DECIMAL(38, 16): 16 fraction digits.
  return `${digits.slice(0, -10)}.${digits.slice(-10)}000000`;
}

/** The consumer's closing summary line. */
function summaryOf(output: string): { rows: number } {
  return JSON.parse(output.split("\n").find((line) => line.includes('"consumer_summary"'))!);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test(
  "consumer commits nothing while the lake cannot be written, and loses nothing once it can (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    const lakeDir = `data/parquet/test-${crypto.randomUUID()}`;
    const lakeGlob = `${PROJECT_ROOT}/${lakeDir}/pair=*/**/*.parquet`;
    // A file where the BTCUSDT folder must go: every write of that pair fails (root ignores read-only modes).
    await Deno.mkdir(`${PROJECT_ROOT}/${lakeDir}`, { recursive: true });
    await Deno.writeTextFile(`${PROJECT_ROOT}/${lakeDir}/pair=BTCUSDT`, "not a folder");
    await fillTopic(broker.brokers);
    const consumer = spawnTask("consumer", { ...broker.env, LAKE_DIR: lakeDir });
    const output = collectOutput(consumer);
    try {
      while (!output.text().includes("Cannot write the lake files")) await sleep(200);
      await sleep(2000);
      const admin = createKafka(broker.brokers, { quiet: true }).admin();
      await admin.connect();
      const [committed] = await admin.fetchOffsets({ groupId: "crypto-lake-writer", topics: [TRADES_TOPIC] });
      const ends = await admin.fetchTopicOffsets(TRADES_TOPIC);
      await admin.disconnect();
      // Every flush of the partition holding BTCUSDT fails, so that partition has committed nothing at all. (The
      // others may be held too: flushes commit in start order, and one started after a failed one is abandoned.)
      const held = ends.filter((end) =>
        end.high !== "0" && committed!.partitions.find((p) => p.partition === end.partition)?.offset === "-1"
      );
      assert.ok(held.length >= 1, JSON.stringify({ committed, ends }));
      const lakeBefore = await lakeCount(lakeGlob);
      assert.ok(lakeBefore < TRADES, "the failing pair is not in the lake yet");

      await Deno.remove(`${PROJECT_ROOT}/${lakeDir}/pair=BTCUSDT`); // the fault clears
      const deadline = Date.now() + 60_000;
      while (await lakeCount(lakeGlob) < TRADES && Date.now() < deadline) await sleep(500);
      await sleep(1000);
      consumer.kill("SIGTERM");
      assert.equal((await consumer.status).code, 0, output.text());
      await output.done;
      const [totals] = await query(
        `select count(*) as n, count(distinct (pair, trade_id)) as ids from read_parquet('${lakeGlob}', hive_partitioning = true, union_by_name = true)`,
      );
      assert.deepEqual([Number(totals!.n), Number(totals!.ids)], [TRADES, TRADES], output.text());
      assert.match(output.text(), /retrying from offset \d+/);
    } finally {
      await Deno.remove(`${PROJECT_ROOT}/${lakeDir}`, { recursive: true }).catch(() => {});
    }
  },
);
