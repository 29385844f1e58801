import assert from "node:assert/strict";
import { benchMarkdown, benchRows } from "../../../../tasks/lib/bench/report.ts";

const producer = {
  producer: { sustained_trades_per_s: 60000, peak_rss_mb: 280 },
  latency_at_rate: { p99_ms: 22 },
  reference: { records_per_s: 240000, p99_ms: 30 },
  ratio_to_reference: 0.25,
  goals: {
    sustained_trades_per_s: { goal: ">= 100000", met: false },
    ratio_to_reference: { goal: ">= 0.3", met: false },
    p99_ms_at_200_per_s: { goal: "< 50", met: true },
  },
};
const refresh = {
  trades: 10034724,
  full_refresh_s: 13.2,
  incremental_refresh_s: 1.27,
  floor_s: 0.6,
  ratio_full_to_floor: 21.83,
  goals: {
    full_refresh_s: { goal: "<= 15", met: true },
    ratio_full_to_floor: { goal: "<= 3", met: false },
    incremental_refresh_s: { goal: "<= 1.5", met: true },
  },
};

Deno.test("benchRows() turns each benchmark's JSON into figures with goals, references and ratios", () => {
  const rows = benchRows({ producer, refresh });
  assert.deepEqual(rows.map((row) => [row.benchmark, row.value, row.met, row.ratio]), [
    ["producer", 60000, false, 0.25],
    ["producer", 22, true, null],
    ["producer", 280, null, null],
    ["refresh", 13.2, false, 21.83],
    ["refresh", 1.27, true, null],
  ]);
  assert.equal(rows[0]!.reference, "kafka-producer-perf-test 240000 records/s");
  assert.equal(rows[3]!.goal, "<= 15; ratio <= 3");
});

Deno.test("benchMarkdown() prints one table row per figure, blank where there is no goal", () => {
  const markdown = benchMarkdown(benchRows({ producer }), "Benchmarks");
  assert.match(markdown, /^# Benchmarks\n\n\| benchmark \| figure \|/);
  assert.match(
    markdown,
    /\| producer \| sustained trades\/s, exchange → Kafka \| 60,000 trades\/s \| >= 100000 \| no \| kafka-producer-perf-test 240000 records\/s \| 0\.25 \|/,
  );
  assert.match(markdown, /\| producer \| peak RSS \| 280 MB \| {2}\| {2}\| {2}\| {2}\|/);
});

Deno.test("benchRows() adds the client's own ceiling when the producer benchmark measured it", () => {
  const withClient = { ...producer, client_alone: { messages_per_s: 95000, ratio_ours_to_client_alone: 0.63 } };
  const rows = benchRows({ producer: withClient });
  assert.deepEqual(rows.at(-1), {
    benchmark: "producer",
    figure: "kafkajs publisher alone, prebuilt envelopes (the client's ceiling)",
    value: 95000,
    unit: "messages/s",
    goal: "",
    met: null,
    reference: "ours ÷ this",
    ratio: 0.63,
  });
});

Deno.test("benchRows() shows the --secure figures beside the plaintext ones, as a ratio without a goal", () => {
  const secure = {
    sustained_trades_per_s: 48000,
    ratio_to_plaintext: 0.8,
    latency_at_rate: { trades_per_s: 200, p50_ms: 4, p99_ms: 9 },
  };
  const rows = benchRows({ producer: { ...producer, secure } });
  assert.deepEqual(rows.slice(-2).map((row) => [row.figure, row.value, row.goal, row.met, row.reference, row.ratio]), [
    ["SASL_SSL: sustained trades/s", 48000, "", null, "secure ÷ plaintext", 0.8],
    ["SASL_SSL: p99 trade time → ack at 200 trades/s", 9, "", null, "", null],
  ]);
});

Deno.test("benchRows() gives the import's rate against its floor, and its memory on both days", () => {
  const archiveImport = {
    trades: 10000000,
    trades_per_s: 720000,
    peak_rss_mb: 270,
    small_day: { trades: 1000000, peak_rss_mb: 225 },
    rss_ratio_large_to_small: 1.2,
    floor_trades_per_s: 690000,
    ratio_to_floor: 1.04,
    goals: {
      trades_per_s: { goal: ">= 1000000", met: false },
      ratio_to_floor: { goal: ">= 0.6", met: true },
      peak_rss_mb: { goal: "<= 1024 (both days)", met: true },
      rss_large_to_small: { goal: "within 20 %", met: true },
    },
  };
  const rows = benchRows({ import: archiveImport });
  assert.deepEqual(rows.map((row) => [row.benchmark, row.value, row.unit, row.met, row.ratio]), [
    ["import", 720000, "trades/s", false, 1.04],
    ["import", 270, "MB", true, 1.2],
  ]);
  assert.equal(rows[0]!.reference, "DuckDB CSV → Parquet, one statement 690000 trades/s");
  assert.equal(rows[1]!.reference, "1000000-trade day 225 MB");
  assert.equal(rows[1]!.goal, "<= 1024 (both days); within 20 % of the smaller day");
});

Deno.test("benchRows() puts the futures figures next to spot's, with the same goals and reference", () => {
  const usdm = {
    sustained_trades_per_s: 55000,
    latency_at_rate: { p99_ms: 25 },
    ratio_to_reference: 0.23,
    ratio_to_spot: 0.92,
    goals: {
      sustained_trades_per_s: { goal: ">= 100000", met: false },
      ratio_to_reference: { goal: ">= 0.3", met: false },
      p99_ms_at_200_per_s: { goal: "< 50", met: true },
    },
  };
  const rows = benchRows({ producer: { ...producer, usdm } }).filter((row) => row.figure.startsWith("usdm"));
  assert.deepEqual(rows.map((row) => [row.figure, row.value, row.goal, row.met, row.ratio]), [
    ["usdm: sustained trades/s, exchange → Kafka", 55000, ">= 100000", false, 0.23],
    ["usdm: p99 trade time → ack at 200 trades/s", 25, "< 50", true, null],
  ]);
  assert.equal(rows[0]!.reference, "the same perf tool, 240000/s (spot ratio 0.92)");
});
