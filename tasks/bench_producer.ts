/**
 * `deno task bench:producer`: how fast the producer moves trades from the local exchange into Kafka, and how soon
 * they are acknowledged, on spot and on USDⓈ-M futures, next to Kafka's own kafka-producer-perf-test on the same
 * broker in the same run. `--secure` adds the spot runs on a SASL_SSL broker next to the plaintext figures (TLS and
 * SCRAM's cost). Prints one JSON document on stdout; progress goes to stderr.
 *
 * Permissions: run deno (the kafka, topics and producer tasks) and java (the perf tool); net to loopback only;
 * read the project; write data/bench and data/producer/bench.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { parseSymbols } from "./lib/config.ts";
import { runTask, TaskError, wholeNumberFlag } from "./lib/cli.ts";
import { round, sustainedRate } from "./lib/bench/measure.ts";
import { parseProducerPerf, producerPerfArgs } from "./lib/bench/perf_tools.ts";
import {
  type BenchBroker,
  measureClientAlone,
  measureProducer,
  type ProducerMeasurement,
  startBenchBroker,
} from "./lib/bench/producer_run.ts";
import { KAFKA_LIB_DIR } from "./lib/kafka/jars.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const log = (line: string) => console.error(`bench: ${line}`);
  const broker = await startBenchBroker(log);
  try {
    // 1. Throughput: the exchange as fast as it goes, every trade from the first one.
    log(`throughput: ${options.trades} trades over ${options.symbols.length} symbols at full speed`);
    const full = await measureProducer(broker, {
      symbols: options.symbols,
      trades: options.trades,
      rate: 1_000_000,
      startId: 1_000_000,
      log,
    });
    const sustained = sustainedRate(full.samples, options.trades);

    // 2. Latency at a live-like rate: trade time → broker acknowledgement.
    log(`latency: ${options.latencyRate} trades/s for ${options.latencySeconds} s`);
    const live = await measureProducer(broker, {
      symbols: options.symbols,
      trades: Math.round(options.latencyRate * options.latencySeconds),
      rate: options.latencyRate,
      startId: 500_000_000,
      log,
    });

    // 2b. The same two runs on USDⓈ-M futures (frames with X, 0.2 % non-market trades), against the same reference.
    log(`usdm throughput: ${options.trades} futures trades at full speed`);
    const usdmFull = await measureProducer(broker, {
      market: "usdm",
      symbols: options.symbols,
      trades: options.trades,
      rate: 1_000_000,
      startId: 1_000_000,
      log,
    });
    const usdmSustained = sustainedRate(usdmFull.samples, options.trades) ?? 0;
    log(`usdm latency: ${options.latencyRate} trades/s for ${options.latencySeconds} s`);
    const usdmLive = await measureProducer(broker, {
      market: "usdm",
      symbols: options.symbols,
      trades: Math.round(options.latencyRate * options.latencySeconds),
      rate: options.latencyRate,
      startId: 500_000_000,
      log,
    });

    // 3. The reference: Kafka's own producer with the same records (our envelopes) and delivery guarantees.
    log("reference: kafka-producer-perf-test with the same envelopes, acks=all, idempotence, gzip");
    const reference = await runProducerPerfTest(broker, options.trades, full.envelopes);

    // 4. The client's own ceiling on this machine: the same envelopes through the same publisher, nothing else.
    log("client alone: prebuilt envelopes through the producer's kafkajs publisher");
    const clientAlone = await measureClientAlone(
      broker,
      "bench.client-alone",
      options.symbols,
      full.envelopes,
      options.trades,
    );

    const ours = sustained ?? 0;
    await broker.stop(); // the secure runs below get the machine to themselves
    const secure = options.secure ? await measureSecure(options, log, ours, clientAlone, live) : undefined;
    const report = {
      benchmark: "producer",
      machine: { cpus: navigator.hardwareConcurrency },
      trades: options.trades,
      symbols: options.symbols,
      envelope_bytes: Math.round(full.envelopes.reduce((sum, e) => sum + e.length, 0) / full.envelopes.length),
      producer: {
        sustained_trades_per_s: round(sustained),
        total_seconds: round(full.seconds),
        ack_latency_ms_at_full_speed: full.summary.ackLatencyMs,
        peak_rss_mb: round(full.summary.peakRssBytes / 2 ** 20),
        backfilled: full.summary.backfilled,
        duplicates_dropped: full.summary.duplicatesDropped,
      },
      latency_at_rate: {
        trades_per_s: options.latencyRate,
        p50_ms: live.summary.ackLatencyMs.p50,
        p99_ms: live.summary.ackLatencyMs.p99,
        samples: live.summary.ackLatencyMs.samples,
      },
      reference: {
        tool: "kafka-producer-perf-test (Apache Kafka 4.3.1, same broker, same run)",
        records_per_s: round(reference.summary.recordsPerSecond),
        mb_per_s: reference.summary.megabytesPerSecond,
        p50_ms: reference.summary.p50Ms,
        p99_ms: reference.summary.p99Ms,
        producer_props: reference.props,
      },
      ratio_to_reference: round(ours / reference.summary.recordsPerSecond),
      // Not a goal: how much of the kafkajs publisher's own rate (no exchange, WebSocket or validation) we keep.
      client_alone: {
        tool: "the producer's KafkaPublisher (kafkajs 2.2.4, same settings) sending prebuilt envelopes, same run",
        messages_per_s: round(clientAlone),
        ratio_ours_to_client_alone: round(ours / clientAlone),
      },
      // The futures market through the same producer, broker and reference, with spot's goals.
      usdm: {
        sustained_trades_per_s: round(usdmSustained),
        total_seconds: round(usdmFull.seconds),
        ack_latency_ms_at_full_speed: usdmFull.summary.ackLatencyMs,
        peak_rss_mb: round(usdmFull.summary.peakRssBytes / 2 ** 20),
        latency_at_rate: {
          trades_per_s: options.latencyRate,
          p50_ms: usdmLive.summary.ackLatencyMs.p50,
          p99_ms: usdmLive.summary.ackLatencyMs.p99,
          samples: usdmLive.summary.ackLatencyMs.samples,
        },
        ratio_to_reference: round(usdmSustained / reference.summary.recordsPerSecond),
        ratio_to_spot: round(usdmSustained / Math.max(1, ours)),
        goals: {
          sustained_trades_per_s: { goal: ">= 100000", met: usdmSustained >= 100_000 },
          ratio_to_reference: {
            goal: ">= 0.3",
            met: usdmSustained / reference.summary.recordsPerSecond >= 0.3,
          },
          p99_ms_at_200_per_s: {
            goal: "< 50",
            met: options.latencyRate === 200 && (usdmLive.summary.ackLatencyMs.p99 ?? Infinity) < 50,
          },
        },
      },
      // --secure: the same spot runs on a SASL_SSL broker (TLS, SCRAM-SHA-512, ACLs), next to the figures above.
      ...(secure ? { secure } : {}),
      goals: {
        sustained_trades_per_s: { goal: ">= 100000", met: ours >= 100_000 },
        ratio_to_reference: { goal: ">= 0.3", met: ours / reference.summary.recordsPerSecond >= 0.3 },
        p99_ms_at_200_per_s: {
          goal: "< 50",
          met: options.latencyRate === 200 && (live.summary.ackLatencyMs.p99 ?? Infinity) < 50,
        },
      },
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await broker.stop();
  }
}

/**
 * The spot throughput, latency and client-alone runs again on a secure broker (the producer logged in as
 * `producer`), with each figure's ratio to the plaintext one of this run: what TLS and SCRAM cost. No goal.
 */
async function measureSecure(
  options: ReturnType<typeof parseOptions>,
  log: (line: string) => void,
  plaintextRate: number,
  plaintextClientAlone: number,
  plaintextLive: ProducerMeasurement,
) {
  const broker = await startBenchBroker(log, { secure: true });
  try {
    log(`secure throughput: ${options.trades} trades at full speed over SASL_SSL`);
    const full = await measureProducer(broker, {
      symbols: options.symbols,
      trades: options.trades,
      rate: 1_000_000,
      startId: 1_000_000,
      log,
    });
    const sustained = sustainedRate(full.samples, options.trades) ?? 0;
    log(`secure latency: ${options.latencyRate} trades/s for ${options.latencySeconds} s`);
    const live = await measureProducer(broker, {
      symbols: options.symbols,
      trades: Math.round(options.latencyRate * options.latencySeconds),
      rate: options.latencyRate,
      startId: 500_000_000,
      log,
    });
    log("secure client alone: prebuilt envelopes through the publisher over SASL_SSL");
    const clientAlone = await measureClientAlone(
      broker,
      "bench.client-alone",
      options.symbols,
      full.envelopes,
      options.trades,
    );
    return {
      setup: "SASL_SSL, SCRAM-SHA-512, StandardAuthorizer with ACLs; TLS to one broker on loopback, same run",
      sustained_trades_per_s: round(sustained),
      ratio_to_plaintext: round(sustained / Math.max(1, plaintextRate)),
      ack_latency_ms_at_full_speed: full.summary.ackLatencyMs,
      peak_rss_mb: round(full.summary.peakRssBytes / 2 ** 20),
      latency_at_rate: {
        trades_per_s: options.latencyRate,
        p50_ms: live.summary.ackLatencyMs.p50,
        p99_ms: live.summary.ackLatencyMs.p99,
        plaintext_p99_ms: plaintextLive.summary.ackLatencyMs.p99,
      },
      client_alone_messages_per_s: round(clientAlone),
      client_alone_ratio_to_plaintext: round(clientAlone / plaintextClientAlone),
    };
  } finally {
    await broker.stop();
  }
}

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      trades: { type: "string", default: "600000" },
      symbols: { type: "string", default: "BTCUSDT,ETHUSDT,SOLUSDT" },
      "latency-rate": { type: "string", default: "200" },
      "latency-seconds": { type: "string", default: "20" },
      secure: { type: "boolean", default: false },
    },
  });
  return {
    secure: values.secure,
    trades: wholeNumberFlag("trades", values.trades, 1000, 1_800_000),
    symbols: parseSymbols("--symbols", values.symbols),
    latencyRate: wholeNumberFlag("latency-rate", values["latency-rate"], 1, 100_000),
    latencySeconds: wholeNumberFlag("latency-seconds", values["latency-seconds"], 1, 3600),
  };
}

async function runProducerPerfTest(broker: BenchBroker, records: number, envelopes: string[]) {
  const topic = "bench.producer-perf-test";
  await broker.createTopic(topic);
  const payloads = resolve(PROJECT_ROOT, "data/bench/payloads.txt");
  await Deno.writeTextFile(payloads, envelopes.join("\n"));
  const props = {
    "acks": "all",
    "enable.idempotence": "true",
    "compression.type": "gzip",
    "linger.ms": "5",
    "batch.size": "262144",
  };
  const args = producerPerfArgs({
    libDir: KAFKA_LIB_DIR,
    bootstrap: broker.bootstrap,
    topic,
    records,
    recordSize: 0,
    props,
  });
  // Send our own envelopes (a payload file) instead of random bytes, so both sides move the same data.
  const sizeAt = args.indexOf("--record-size");
  args.splice(sizeAt, 2, "--payload-file", payloads);
  const output = await new Deno.Command("java", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new TaskError(`kafka-producer-perf-test failed:\n${text.slice(-1000)}`);
  return { summary: parseProducerPerf(text), props };
}

if (import.meta.main) runTask("bench:producer", main);
