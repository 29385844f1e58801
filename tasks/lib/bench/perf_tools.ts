/**
 * Kafka's own performance tools, run from the same Maven-resolved jars as the broker: the reference every
 * benchmark compares itself with on the same run.
 */
import { join } from "node:path";

/** The figures `kafka-producer-perf-test` prints in its final line. */
export interface ProducerPerfSummary {
  records: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
}

const PRODUCER_SUMMARY = new RegExp(
  String.raw`(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ` +
    String.raw`([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th`,
);

/** Finds the final summary line of `kafka-producer-perf-test` in its output. */
export function parseProducerPerf(output: string): ProducerPerfSummary {
  const match = PRODUCER_SUMMARY.exec(output);
  if (!match) throw new SyntaxError(`Cannot find the producer perf-test summary in: ${output.slice(-300)}`);
  const [records, perSecond, mb, avg, max, p50, p95, p99, p999] = match.slice(1).map(Number) as number[];
  return {
    records: records!,
    recordsPerSecond: perSecond!,
    megabytesPerSecond: mb!,
    avgLatencyMs: avg!,
    maxLatencyMs: max!,
    p50Ms: p50!,
    p95Ms: p95!,
    p99Ms: p99!,
    p999Ms: p999!,
  };
}

/** What the producer perf test should do. */
export interface ProducerPerfRun {
  libDir: string;
  bootstrap: string;
  topic: string;
  records: number;
  recordSize: number;
  /** Producer settings matched to ours (acks, idempotence, compression, linger). */
  props: Record<string, string>;
}

/** `java` arguments for `kafka-producer-perf-test` (class org.apache.kafka.tools.ProducerPerformance). */
export function producerPerfArgs(run: ProducerPerfRun): string[] {
  return [
    "-Xmx512m",
    "-cp",
    join(run.libDir, "*"),
    "org.apache.kafka.tools.ProducerPerformance",
    "--topic",
    run.topic,
    "--num-records",
    String(run.records),
    "--record-size",
    String(run.recordSize),
    "--throughput",
    "-1",
    "--producer-props",
    `bootstrap.servers=${run.bootstrap}`,
    ...Object.entries(run.props).map(([key, value]) => `${key}=${value}`),
  ];
}

/** The figures `kafka-consumer-perf-test` prints on its result line. */
export interface ConsumerPerfSummary {
  megabytes: number;
  megabytesPerSecond: number;
  messages: number;
  messagesPerSecond: number;
}

/**
 * Reads the result line of `kafka-consumer-perf-test`, which follows its header
 * `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, …`.
 */
export function parseConsumerPerf(output: string): ConsumerPerfSummary {
  const line = output.split("\n").find((l) => /^\d{4}-\d{2}-\d{2} [\d:.]+, \d{4}-\d{2}-\d{2} [\d:.]+, /.test(l));
  if (!line) throw new SyntaxError(`Cannot find the consumer perf-test result in: ${output.slice(-300)}`);
  const [, , megabytes, mbPerSecond, messages, perSecond] = line.split(",").map((field) => field.trim());
  return {
    megabytes: Number(megabytes),
    megabytesPerSecond: Number(mbPerSecond),
    messages: Number(messages),
    messagesPerSecond: Number(perSecond),
  };
}

/** `java` arguments for `kafka-consumer-perf-test` (class org.apache.kafka.tools.ConsumerPerformance). */
export function consumerPerfArgs(libDir: string, bootstrap: string, topic: string, messages: number): string[] {
  return [
    "-Xmx512m",
    "-cp",
    join(libDir, "*"),
    "org.apache.kafka.tools.ConsumerPerformance",
    "--bootstrap-server",
    bootstrap,
    "--topic",
    topic,
    "--messages",
    String(messages),
    "--group",
    `bench-consumer-perf-${messages}-${Date.now()}`,
    "--timeout",
    "60000",
  ];
}
