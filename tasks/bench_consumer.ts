/**
 * `deno task bench:consumer`: how fast the consumer turns a full topic into durable Parquet, and how soon a live
 * trade is queryable, on spot and on USDⓈ-M futures, next to Kafka's own kafka-consumer-perf-test over the same
 * topic in the same run. `--secure` adds the spot runs on a SASL_SSL broker next to the plaintext figures (TLS and
 * SCRAM's cost). Prints one JSON document on stdout; progress goes to stderr.
 *
 * Permissions: run deno (the kafka, topics, producer and consumer tasks) and java (the perf tool); net to loopback
 * only; FFI for DuckDB (reading the lake back); read the project; write data/bench, data/producer/bench,
 * data/parquet/bench and data/parquet/bench-secure.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { CompressionTypes, Partitioners } from "kafkajs";
import { runTask, TaskError, wholeNumberFlag } from "./lib/cli.ts";
import { openConfinedDuckDB } from "./lib/duckdb.ts";
import { round, sustainedRate } from "./lib/bench/measure.ts";
import type { CountSample } from "./lib/bench/measure.ts";
import { consumerPerfArgs, parseConsumerPerf } from "./lib/bench/perf_tools.ts";
import { type BenchBroker, measureProducer, startBenchBroker } from "./lib/bench/producer_run.ts";
import { tradeMessage } from "./lib/ingest/envelope.ts";
import { createKafka } from "./lib/kafka/client.ts";
import { KAFKA_LIB_DIR } from "./lib/kafka/jars.ts";
import type { ConsumerSummary } from "./lib/lake/consumer.ts";
import { type Market, marketProfile } from "./lib/market.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { collectOutput, spawnTask } from "./lib/processes.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const LAKE_DIR = "data/parquet/bench";
const SECURE_LAKE_DIR = "data/parquet/bench-secure";
const TRADES_TOPIC = marketProfile("spot").tradesTopic;

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const log = (line: string) => console.error(`bench: ${line}`);
  await Deno.remove(resolve(PROJECT_ROOT, LAKE_DIR), { recursive: true }).catch(() => {});
  const broker = await startBenchBroker(log);
  try {
    // 1. A full topic: trades as our producer writes them (gzip batches of 5,000).
    log(`filling ${TRADES_TOPIC} with ${options.trades} trades`);
    await fillTopic(broker, options.trades);

    // 2. Throughput: consume the whole topic into committed Parquet files.
    log("throughput: consuming the topic into the lake");
    const full = await consume(broker, options.trades, log);
    const sustained = sustainedRate(full.samples, options.trades);

    // 3. Latency: live trades at 200/s through producer and consumer; trade time → file visible.
    log(`latency: 200 trades/s for ${options.latencySeconds} s through producer and consumer`);
    const liveTrades = 200 * options.latencySeconds;
    const live = consume(broker, options.trades + liveTrades, log);
    await measureProducer(broker, { symbols: SYMBOLS, trades: liveTrades, rate: 200, startId: 500_000_000, log });
    await live;
    const latency = await queryableLatency(500_000_000);

    // 3b. The same on USDⓈ-M futures: a full futures topic into LAKE_DIR/_usdm, then live futures trades at 200/s.
    log(`usdm: filling ${marketProfile("usdm").tradesTopic} with ${options.trades} futures trades`);
    await fillTopic(broker, options.trades, "usdm");
    const usdmFull = await consume(broker, options.trades, log, "usdm");
    const usdmSustained = sustainedRate(usdmFull.samples, options.trades) ?? 0;
    log(`usdm latency: 200 trades/s for ${options.latencySeconds} s through producer and consumer`);
    const usdmLive = consume(broker, options.trades + liveTrades, log, "usdm");
    await measureProducer(broker, {
      market: "usdm",
      symbols: SYMBOLS,
      trades: liveTrades,
      rate: 200,
      startId: 500_000_000,
      log,
    });
    await usdmLive;
    const usdmLatency = await queryableLatency(500_000_000, "usdm");

    // 4. The reference: Kafka's own consumer over the same topic.
    log("reference: kafka-consumer-perf-test over the same topic");
    const args = consumerPerfArgs(KAFKA_LIB_DIR, broker.bootstrap, TRADES_TOPIC, options.trades);
    const output = await new Deno.Command("java", { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    if (!output.success) throw new TaskError(`kafka-consumer-perf-test failed:\n${text.slice(-1000)}`);
    const reference = parseConsumerPerf(text);

    // 5. The client's own ceiling: kafkajs handing over the same topic to a handler that only counts.
    log("client alone: kafkajs reading the topic without decoding or writing");
    const clientAlone = await readWithClientAlone(broker, options.trades);

    const ours = sustained ?? 0;
    await broker.stop(); // the secure runs below get the machine to themselves
    const secure = options.secure
      ? await measureSecure(options, log, { rate: ours, clientAlone, p99: latency.p99 })
      : undefined;
    console.log(JSON.stringify(
      {
        benchmark: "consumer",
        machine: { cpus: navigator.hardwareConcurrency },
        trades: options.trades,
        consumer: {
          sustained_trades_per_s: round(sustained),
          total_seconds: round(full.seconds),
          files_written: full.summary.files,
          peak_rss_mb: round(full.summary.peakRssBytes / 2 ** 20),
        },
        trade_to_queryable_ms_at_200_per_s: latency,
        reference: {
          tool: "kafka-consumer-perf-test (Apache Kafka 4.3.1, same topic, same run)",
          messages_per_s: round(reference.messagesPerSecond),
          mb_per_s: reference.megabytesPerSecond,
        },
        ratio_to_reference: round(ours / reference.messagesPerSecond),
        // Not a goal: how much of kafkajs's own rate (no decoding, no Parquet) we keep.
        client_alone: {
          tool: "kafkajs 2.2.4 with the consumer's fetch settings, counting records only, same topic, same run",
          records_per_s: round(clientAlone),
          ratio_ours_to_client_alone: round(ours / clientAlone),
        },
        // The futures market through the same consumer and broker, against the same reference, with spot's goals.
        usdm: {
          sustained_trades_per_s: round(usdmSustained),
          total_seconds: round(usdmFull.seconds),
          files_written: usdmFull.summary.files,
          peak_rss_mb: round(usdmFull.summary.peakRssBytes / 2 ** 20),
          trade_to_queryable_ms_at_200_per_s: usdmLatency,
          ratio_to_reference: round(usdmSustained / reference.messagesPerSecond),
          ratio_to_spot: round(usdmSustained / Math.max(1, ours)),
          goals: {
            sustained_trades_per_s: { goal: ">= 200000", met: usdmSustained >= 200_000 },
            ratio_to_reference: { goal: ">= 0.3", met: usdmSustained / reference.messagesPerSecond >= 0.3 },
            p99_trade_to_queryable_ms: { goal: "<= 2000", met: (usdmLatency.p99 ?? Infinity) <= 2000 },
          },
        },
        // --secure: the same spot runs on a SASL_SSL broker (TLS, SCRAM-SHA-512, ACLs), next to the figures above.
        ...(secure ? { secure } : {}),
        goals: {
          sustained_trades_per_s: { goal: ">= 200000", met: ours >= 200_000 },
          ratio_to_reference: { goal: ">= 0.3", met: ours / reference.messagesPerSecond >= 0.3 },
          p99_trade_to_queryable_ms: { goal: "<= 2000", met: (latency.p99 ?? Infinity) <= 2000 },
        },
      },
      null,
      2,
    ));
  } finally {
    await broker.stop();
  }
}

/**
 * The spot throughput, latency and client-alone runs again on a secure broker (the consumer logged in as
 * `consumer`, into a lake of its own), each figure beside the plaintext one of this run: what TLS and SCRAM cost.
 */
async function measureSecure(
  options: ReturnType<typeof parseOptions>,
  log: (line: string) => void,
  plaintext: { rate: number; clientAlone: number; p99: number | null },
) {
  await Deno.remove(resolve(PROJECT_ROOT, SECURE_LAKE_DIR), { recursive: true }).catch(() => {});
  const broker = await startBenchBroker(log, { secure: true });
  try {
    log(`secure: filling ${TRADES_TOPIC} with ${options.trades} trades over SASL_SSL`);
    await fillTopic(broker, options.trades);
    const full = await consume(broker, options.trades, log, "spot", SECURE_LAKE_DIR);
    const sustained = sustainedRate(full.samples, options.trades) ?? 0;
    log(`secure latency: 200 trades/s for ${options.latencySeconds} s through producer and consumer`);
    const liveTrades = 200 * options.latencySeconds;
    const live = consume(broker, options.trades + liveTrades, log, "spot", SECURE_LAKE_DIR);
    await measureProducer(broker, { symbols: SYMBOLS, trades: liveTrades, rate: 200, startId: 500_000_000, log });
    await live;
    const latency = await queryableLatency(500_000_000, "spot", SECURE_LAKE_DIR);
    log("secure client alone: kafkajs reading the topic over SASL_SSL without decoding or writing");
    const clientAlone = await readWithClientAlone(broker, options.trades);
    return {
      setup: "SASL_SSL, SCRAM-SHA-512, StandardAuthorizer with ACLs; TLS to one broker on loopback, same run",
      sustained_trades_per_s: round(sustained),
      ratio_to_plaintext: round(sustained / Math.max(1, plaintext.rate)),
      peak_rss_mb: round(full.summary.peakRssBytes / 2 ** 20),
      trade_to_queryable_ms_at_200_per_s: { ...latency, plaintext_p99: plaintext.p99 },
      client_alone_records_per_s: round(clientAlone),
      client_alone_ratio_to_plaintext: round(clientAlone / plaintext.clientAlone),
    };
  } finally {
    await broker.stop();
  }
}

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      trades: { type: "string", default: "2000000" },
      "latency-seconds": { type: "string", default: "20" },
      secure: { type: "boolean", default: false },
    },
  });
  return {
    secure: values.secure,
    trades: wholeNumberFlag("trades", values.trades, 3000, 10_000_000),
    latencySeconds: wholeNumberFlag("latency-seconds", values["latency-seconds"], 1, 3600),
  };
}

/** Fills `market`'s trades topic; futures trades carry X (one in 500 an insurance-fund trade) and no M. */
async function fillTopic(broker: BenchBroker, trades: number, market: Market = "spot"): Promise<void> {
  const kafka = createKafka(broker.brokers, { quiet: true, security: broker.security });
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const startMs = Date.now() - trades; // one trade per ms, ending now
  for (let start = 0; start < trades; start += 5000) {
    const messages = Array.from({ length: Math.min(5000, trades - start) }, (_, i) => {
      const n = start + i;
      const id = Math.floor(n / 3) + 1_000_000;
      const time = startMs + n;
      const price = `${60000 + (id % 997)}.${String(id % 100).padStart(2, "0")}000000`;
      const quantity = `0.${String((id * 7919) % 100_000_000).padStart(8, "0")}`;
      const common = { e: "trade" as const, E: time, s: SYMBOLS[n % 3]!, t: id, p: price, q: quantity, T: time };
      if (market === "spot") return tradeMessage({ ...common, m: n % 2 === 0, M: true }, time, false);
      const trade = { ...common, X: id % 500 === 0 ? "INSURANCE_FUND" : "MARKET", m: n % 2 === 0 };
      return tradeMessage(trade, time, false, undefined, { market });
    });
    await producer.send({
      topic: marketProfile(market).tradesTopic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages,
    });
  }
  await producer.disconnect();
}

/** Runs the consumer until the group has committed `total` records, sampling the committed count. */
async function consume(
  broker: BenchBroker,
  total: number,
  log: (line: string) => void,
  market: Market = "spot",
  lakeDir = LAKE_DIR,
) {
  const { consumerGroup, tradesTopic } = marketProfile(market);
  const consumer = spawnTask("consumer", {
    ...broker.env,
    ...broker.login("consumer"),
    LAKE_DIR: lakeDir,
    MARKET: market,
  });
  const output = collectOutput(consumer);
  const admin = createKafka(broker.brokers, { quiet: true, security: broker.security }).admin();
  await admin.connect();
  const samples: CountSample[] = [];
  const started = performance.now();
  try {
    let committed = 0;
    while (committed < total) {
      if (performance.now() - started > 600_000) {
        throw new TaskError(
          `only ${committed} of ${total} records committed in 10 minutes:\n${output.text().slice(-2000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
      // The group's coordinator can move or still be loading on a busy machine: ask again at the next tick.
      const offsets = await admin.fetchOffsets({ groupId: consumerGroup, topics: [tradesTopic] }).catch(() => []);
      if (!offsets[0]) continue;
      committed = offsets[0].partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      samples.push({ atMs: performance.now() - started, count: committed });
    }
  } finally {
    await admin.disconnect();
    consumer.kill("SIGTERM");
    await consumer.status;
    await output.done;
  }
  const seconds = (performance.now() - started) / 1000;
  const line = output.text().split("\n").find((l) => l.includes('"consumer_summary"'));
  if (!line) throw new TaskError(`the consumer did not stop cleanly:\n${output.text().slice(-2000)}`);
  log(`${total} records committed after ${seconds.toFixed(1)} s`);
  return { summary: JSON.parse(line) as ConsumerSummary, samples, seconds };
}

/** Milliseconds from trade time to the file holding the trade being written, for trades from `fromId` on. */
/** Records/s kafkajs hands over from the start of the trades topic to a handler that only counts them. */
async function readWithClientAlone(broker: BenchBroker, total: number): Promise<number> {
  const kafka = createKafka(broker.brokers, { quiet: true, security: broker.security });
  const consumer = kafka.consumer({ groupId: "bench.client-alone", maxBytes: 32 * 2 ** 20, sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TRADES_TOPIC, fromBeginning: true });
    const { promise: allRead, resolve: done } = Promise.withResolvers<number>();
    let count = 0;
    let started = 0;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (started === 0) started = performance.now();
        for (const message of batch.messages) if (message.value !== null) count++;
        resolveOffset(batch.lastOffset());
        await heartbeat();
        if (count >= total) done((performance.now() - started) / 1000);
      },
    });
    const seconds = await allRead;
    return total / seconds;
  } finally {
    await consumer.disconnect();
  }
}

async function queryableLatency(fromId: number, market: Market = "spot", lakeDir = LAKE_DIR) {
  // DuckDB's native code is outside Deno's sandbox: confine it to the bench lake it reads.
  const lakeRoot = await Deno.realPath(resolve(PROJECT_ROOT, lakeDir));
  const db = await openConfinedDuckDB(":memory:", { allowedPaths: [`${lakeRoot}/`] });
  try {
    const dataset = market === "spot" ? lakeRoot : `${lakeRoot}/${marketProfile(market).lakeSubdir}`;
    const glob = `${dataset}/pair=*/**/*.parquet`; // not _dlq/ (nor, for spot, _usdm/)
    const [row] = (await db.connection.runAndReadAll(
      `select quantile_cont(ms, 0.5) as p50, quantile_cont(ms, 0.99) as p99, max(ms) as max, count(*) as samples
       from (select epoch_ms(lake_written_at) - epoch_ms(trade_time) as ms
             from read_parquet('${glob}', union_by_name = true) where trade_id >= ${fromId})`,
    )).getRowObjectsJson() as Record<string, unknown>[];
    return {
      p50: round(Number(row!.p50)),
      p99: round(Number(row!.p99)),
      max: round(Number(row!.max)),
      samples: Number(row!.samples),
    };
  } finally {
    db.close();
  }
}

if (import.meta.main) runTask("bench:consumer", main);
