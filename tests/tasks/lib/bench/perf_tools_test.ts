import assert from "node:assert/strict";
import { parseConsumerPerf, parseProducerPerf, producerPerfArgs } from "../../../../tasks/lib/bench/perf_tools.ts";
import { quantile, ReservoirSample, round, sustainedRate } from "../../../../tasks/lib/bench/measure.ts";

Deno.test("parseProducerPerf() reads the final summary line of kafka-producer-perf-test", () => {
  const output = "120000 records sent, 24000.0 records/sec (5.86 MB/sec), 3.1 ms avg latency, 80.0 ms max latency.\n" +
    "600000 records sent, 118906.262383 records/sec (29.03 MB/sec), 12.34 ms avg latency, 456.00 ms max latency, " +
    "10 ms 50th, 20 ms 95th, 31 ms 99th, 48 ms 99.9th.\n";
  assert.deepEqual(parseProducerPerf(output), {
    records: 600000,
    recordsPerSecond: 118906.262383,
    megabytesPerSecond: 29.03,
    avgLatencyMs: 12.34,
    maxLatencyMs: 456,
    p50Ms: 10,
    p95Ms: 20,
    p99Ms: 31,
    p999Ms: 48,
  });
  assert.throws(() => parseProducerPerf("Exception in thread main"), SyntaxError);
});

Deno.test("producerPerfArgs() runs ProducerPerformance with our producer settings", () => {
  const args = producerPerfArgs({
    libDir: "/lib",
    bootstrap: "localhost:9092",
    topic: "t",
    records: 10,
    recordSize: 250,
    props: { acks: "all" },
  });
  assert.deepEqual(args.slice(2, 4), ["/lib/*", "org.apache.kafka.tools.ProducerPerformance"]);
  assert.deepEqual(args.slice(-3), ["--producer-props", "bootstrap.servers=localhost:9092", "acks=all"]);
});

Deno.test("quantile() picks by nearest rank", () => {
  assert.equal(quantile([], 0.5), null);
  assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
  assert.equal(quantile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99), 99);
  assert.equal(quantile([7], 0.99), 7);
});

Deno.test("sustainedRate() measures between 10 % and 90 % of the total", () => {
  const samples = [0, 10, 20, 30, 40, 50].map((count, i) => ({ atMs: i * 1000, count: count * 2 }));
  assert.equal(sustainedRate(samples, 100), 20); // 10 → 90 in 4 s
  assert.equal(sustainedRate(samples.slice(0, 2), 100), null);
  assert.equal(round(12345.678), 12346);
  assert.equal(round(1.23456), 1.23);
});

Deno.test("parseConsumerPerf() reads the result line of kafka-consumer-perf-test", () => {
  const output = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, " +
    "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n" +
    "2026-11-24 20:01:02:123, 2026-11-24 20:01:09:456, 470.3108, 64.1349, 2000000, 272738.2381, 3012, 4321, 108.8385, 462856.9773\n";
  assert.deepEqual(parseConsumerPerf(output), {
    megabytes: 470.3108,
    megabytesPerSecond: 64.1349,
    messages: 2000000,
    messagesPerSecond: 272738.2381,
  });
  assert.throws(() => parseConsumerPerf("WARN nothing"), SyntaxError);
});

Deno.test("ReservoirSample keeps every value until full, then a bounded uniform sample with the full count", () => {
  const small = new ReservoirSample(10);
  [5, 1, 4, 2, 3].forEach((v) => small.add(v));
  assert.equal(small.count, 5);
  assert.equal(small.quantile(0.5), 3);
  assert.equal(small.quantile(1), 5);
  assert.equal(new ReservoirSample(10).quantile(0.5), null);

  // A seeded generator: the sample of 0..99,999 stays spread over the whole stream.
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const sample = new ReservoirSample(1000, random);
  for (let i = 0; i < 100_000; i++) sample.add(i);
  assert.equal(sample.count, 100_000);
  assert.ok(Math.abs(sample.quantile(0.5)! - 50_000) < 5_000, `median ${sample.quantile(0.5)}`);
  assert.ok(sample.quantile(0.99)! > 95_000, `p99 ${sample.quantile(0.99)}`);
});
