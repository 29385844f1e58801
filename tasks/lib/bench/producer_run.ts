/**
 * The moving parts of the producer benchmark: a dedicated broker, and one measured producer run against the
 * in-process local exchange.
 */
import { resolve } from "node:path";
import { Partitioners } from "kafkajs";
import { TaskError } from "../cli.ts";
import { type BrokerAddress, type KafkaRole, type KafkaSecurity, loadKafkaSecurity } from "../config.ts";
import { startExchange } from "../exchange/server.ts";
import { tradeFromRest, tradeMessage } from "../ingest/envelope.ts";
import { KafkaPublisher } from "../ingest/kafka_publisher.ts";
import type { ProducerSummary } from "../ingest/producer.ts";
import { stateAt } from "../ingest/producer_state.ts";
import { createKafka } from "../kafka/client.ts";
import { type Market, marketProfile } from "../market.ts";
import { PROJECT_ROOT } from "../paths.ts";
import { collectOutput, spawnTask } from "../processes.ts";
import type { CountSample } from "./measure.ts";

/**
 * A broker started for the benchmark only, in data/bench/kafka, wiped first so every run starts alike. Secure (for
 * TLS and SCRAM's cost): `kafka start --secure` in data/bench/kafka-secure, its secrets kept in
 * data/secrets/bench (made once), the producer and the consumer each logged in as their own user.
 */
export interface BenchBroker {
  brokers: BrokerAddress[];
  bootstrap: string;
  /** Points a task at the broker (and, when secure, trusts its CA). */
  env: Record<string, string>;
  /** What a task running as `role` adds to {@link env} to log in (nothing on the plaintext broker). */
  login(role: KafkaRole): Record<string, string>;
  /** The benchmark's own clients' login (the admin's, when secure). */
  security: KafkaSecurity;
  createTopic(topic: string): Promise<void>;
  stop(): Promise<void>;
}

const BENCH_KAFKA_PORT = 29092;
const BENCH_SECURE_KAFKA_PORT = 29192;
const BENCH_SECRETS_DIR = "data/secrets/bench";

/** Starts the benchmark broker with both pipeline topics. */
export async function startBenchBroker(
  log: (line: string) => void,
  options: { secure?: boolean } = {},
): Promise<BenchBroker> {
  const secure = options.secure ?? false;
  const port = secure ? BENCH_SECURE_KAFKA_PORT : BENCH_KAFKA_PORT;
  const dataDir = resolve(PROJECT_ROOT, secure ? "data/bench/kafka-secure" : "data/bench/kafka");
  const startEnv = {
    KAFKA_BROKERS: `localhost:${port}`,
    KAFKA_DATA_DIR: dataDir,
    KAFKA_HEAP: "1g",
    ...(secure ? { KAFKA_SECRETS_DIR: BENCH_SECRETS_DIR } : {}),
  };
  const env = {
    ...startEnv,
    ...(secure ? { KAFKA_SECURITY_PROTOCOL: "SASL_SSL", KAFKA_SSL_CA_FILE: `${BENCH_SECRETS_DIR}/ca.pem` } : {}),
  };
  const login = (role: KafkaRole): Record<string, string> =>
    secure ? { KAFKA_SASL_USERNAME: role, KAFKA_SASL_PASSWORD_FILE: `${BENCH_SECRETS_DIR}/${role}.password` } : {};
  await denoTask(["kafka", "stop"], startEnv); // a broker left over by an interrupted run
  // The plaintext broker comes first and clears data/bench; the secure one clears only its own folder.
  await Deno.remove(secure ? dataDir : resolve(PROJECT_ROOT, "data/bench"), { recursive: true }).catch(() => {});
  await Deno.mkdir(dataDir, { recursive: true });
  log(`starting a dedicated ${secure ? "secure (SASL_SSL, SCRAM-SHA-512) " : ""}broker on localhost:${port}`);
  await denoTask(["kafka", "start", ...(secure ? ["--secure"] : [])], startEnv, true);
  await denoTask(["topics"], { ...env, ...login("admin") }, true);
  const brokers = [{ host: "localhost", port }];
  const security = secure
    ? loadKafkaSecurity(
      new Map(Object.entries({ ...env, ...login("admin") })),
      (path) => Deno.readTextFileSync(resolve(PROJECT_ROOT, path)),
    )
    : { protocol: "PLAINTEXT" as const };
  let stopped = false;
  return {
    brokers,
    bootstrap: `localhost:${port}`,
    env,
    login,
    security,
    async createTopic(topic) {
      const admin = createKafka(brokers, { quiet: true, security }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      await admin.disconnect();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      log(`stopping the ${secure ? "secure " : ""}broker`);
      await denoTask(["kafka", "stop"], startEnv);
    },
  };
}

/** One producer run. */
export interface ProducerRun {
  symbols: string[];
  trades: number;
  /** Trades per second the exchange makes. */
  rate: number;
  /** First trade id, above every id of earlier runs on the same broker. */
  startId: number;
  /** The market of the exchange and the producer. Default: spot. */
  market?: Market;
  log: (line: string) => void;
}

/** What one run measured. */
export interface ProducerMeasurement {
  summary: ProducerSummary;
  /** Trades in the topic over time. */
  samples: CountSample[];
  seconds: number;
  /** A sample of the envelopes the run produced, for the reference tool. */
  envelopes: string[];
}

/**
 * Runs the exchange (waiting for its first client, so the producer sees every trade live) and the producer until
 * Kafka holds every trade, sampling the topic's size every 100 ms.
 */
export async function measureProducer(broker: BenchBroker, run: ProducerRun): Promise<ProducerMeasurement> {
  const market = run.market ?? "spot";
  const topic = marketProfile(market).tradesTopic;
  const statePath = `data/producer/bench/state-${market}-${run.startId}.json`;
  const admin = createKafka(broker.brokers, { quiet: true, security: broker.security }).admin();
  await admin.connect();
  const sizeOf = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  try {
    // The state says every symbol is at startId - 1 as of the topic's current end: nothing to recover.
    const state = stateAt(topic, await admin.fetchTopicOffsets(topic), {
      symbols: Object.fromEntries(run.symbols.map((s) => [s, { highest: run.startId - 1, gaps: [] }])),
      gapsFound: 0,
      idsHealed: 0,
      gapsAbandoned: [],
    });
    await Deno.mkdir(resolve(PROJECT_ROOT, "data/producer/bench"), { recursive: true });
    await Deno.writeTextFile(resolve(PROJECT_ROOT, statePath), JSON.stringify(state));
    const before = await sizeOf();

    const exchange = await startExchange({
      market,
      port: 0,
      symbols: run.symbols,
      rate: run.rate,
      maxTrades: run.trades,
      startId: run.startId,
      waitForClient: true,
      pingIntervalSeconds: 0,
    });
    try {
      const producer = spawnTask("producer", {
        ...broker.env,
        ...broker.login("producer"),
        MARKET: market,
        BINANCE_WS_URL: `ws://127.0.0.1:${exchange.port}`,
        BINANCE_REST_URL: `http://127.0.0.1:${exchange.port}`,
        SYMBOLS: run.symbols.join(","),
        PRODUCER_STATE_PATH: statePath,
      });
      const output = collectOutput(producer);
      const samples: CountSample[] = [];
      const started = performance.now();
      const deadline = started + Math.max(120_000, (run.trades / run.rate) * 1000 * 3);
      let count = 0;
      while (count < run.trades) {
        if (performance.now() > deadline) {
          producer.kill("SIGKILL");
          throw new TaskError(
            `only ${count} of ${run.trades} trades reached Kafka in time:\n${output.text().slice(-2000)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
        count = (await sizeOf()) - before;
        samples.push({ atMs: performance.now() - started, count });
      }
      const seconds = (performance.now() - started) / 1000;
      producer.kill("SIGTERM");
      const status = await producer.status;
      await output.done;
      const line = output.text().split("\n").find((l) => l.includes('"producer_summary"'));
      if (!status.success || !line) {
        throw new TaskError(`the producer did not stop cleanly:\n${output.text().slice(-2000)}`);
      }
      run.log(`${run.trades} trades in Kafka after ${seconds.toFixed(1)} s`);

      const rest = await fetch(
        `http://127.0.0.1:${exchange.port}${marketProfile(market).rest.historicalTrades}?symbol=${
          run.symbols[0]
        }&fromId=${run.startId}&limit=1000`,
        { headers: { "X-MBX-APIKEY": "bench" } },
      ).then((r) => r.json());
      const envelopes = (rest as Parameters<typeof tradeFromRest>[1][]).map((row) =>
        tradeMessage({ ...tradeFromRest(run.symbols[0]!, row), E: row.time }, Date.now(), false).value
      );
      return { summary: JSON.parse(line) as ProducerSummary, samples, seconds, envelopes };
    } finally {
      await exchange.shutdown();
    }
  } finally {
    await admin.disconnect();
  }
}

async function denoTask(args: string[], env: Record<string, string>, mustSucceed = false): Promise<void> {
  const output = await new Deno.Command("deno", {
    args: ["task", "--quiet", ...args],
    cwd: PROJECT_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (mustSucceed && !output.success) {
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    throw new TaskError(`deno task ${args.join(" ")} failed:\n${text.trim()}`);
  }
}

/**
 * The Kafka client's own ceiling: `messages` prebuilt trade envelopes (cycled to `count`, keyed by `symbols` in
 * turn) sent through the producer's KafkaPublisher with the producer's kafkajs settings (idempotent, acks=all,
 * gzip, one batch in flight), with no exchange, WebSocket or validation in the way. Returns messages/s.
 */
export async function measureClientAlone(
  broker: BenchBroker,
  topic: string,
  symbols: readonly string[],
  values: readonly string[],
  count: number,
): Promise<number> {
  await broker.createTopic(topic);
  const kafka = createKafka(broker.brokers, { quiet: true, security: broker.security });
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await Promise.all([admin.connect(), producer.connect()]);
  try {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const partitioner = Partitioners.DefaultPartitioner();
    let acked = 0;
    const { promise: allAcked, resolve: done } = Promise.withResolvers<void>();
    const publisher = new KafkaPublisher<null>(producer, {
      partitionOf: (name, message) => partitioner({ topic: name, partitionMetadata: metadata!.partitions, message }),
      onAcked: (batch) => {
        acked += batch.length;
        if (acked >= count) done();
      },
    });
    const now = String(Date.now());
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const message = { key: symbols[i % symbols.length]!, value: values[i % values.length]!, timestamp: now };
      publisher.enqueue({ topic, message, meta: null });
    }
    await allAcked;
    const seconds = (performance.now() - started) / 1000;
    await publisher.close();
    return count / seconds;
  } finally {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }
}
