/**
 * One table of every benchmark: each figure with its goal, the reference measured in the same run and the ratio.
 * Pure: it reads the JSON each `bench:*` task prints.
 */

/** One line of the table. */
export interface BenchRow {
  benchmark: string;
  figure: string;
  value: number | null;
  unit: string;
  goal: string;
  met: boolean | null;
  reference: string;
  ratio: number | null;
}

type Json = Record<string, unknown>;

/** The rows of the benchmarks' outputs (any of them may be missing, e.g. when it failed). */
export function benchRows(results: { producer?: Json; consumer?: Json; refresh?: Json; import?: Json }): BenchRow[] {
  const rows: BenchRow[] = [];
  const { producer, consumer, refresh, import: archiveImport } = results;
  if (producer) {
    const goals = producer.goals as Record<string, { goal: string; met: boolean }>;
    const reference = producer.reference as Json;
    rows.push({
      benchmark: "producer",
      figure: "sustained trades/s, exchange → Kafka",
      value: num((producer.producer as Json).sustained_trades_per_s),
      unit: "trades/s",
      goal: goals.sustained_trades_per_s!.goal,
      met: goals.sustained_trades_per_s!.met,
      reference: `kafka-producer-perf-test ${num(reference.records_per_s)} records/s`,
      ratio: num(producer.ratio_to_reference),
    }, {
      benchmark: "producer",
      figure: "p99 trade time → ack at 200 trades/s",
      value: num((producer.latency_at_rate as Json).p99_ms),
      unit: "ms",
      goal: goals.p99_ms_at_200_per_s!.goal,
      met: goals.p99_ms_at_200_per_s!.met,
      reference: `perf-test p99 ${num(reference.p99_ms)} ms at full speed`,
      ratio: null,
    }, {
      benchmark: "producer",
      figure: "peak RSS",
      value: num((producer.producer as Json).peak_rss_mb),
      unit: "MB",
      goal: "",
      met: null,
      reference: "",
      ratio: null,
    });
    const usdm = producer.usdm as Json | undefined;
    if (usdm) rows.push(...futuresRows("producer", "exchange → Kafka", "ack", usdm, reference.records_per_s));
    const clientAlone = producer.client_alone as Json | undefined;
    if (clientAlone) {
      rows.push(clientCeilingRow(
        "producer",
        "kafkajs publisher alone, prebuilt envelopes (the client's ceiling)",
        num(clientAlone.messages_per_s),
        "messages/s",
        num(clientAlone.ratio_ours_to_client_alone),
      ));
    }
    const secure = producer.secure as Json | undefined;
    if (secure) {
      rows.push(
        secureRow(
          "producer",
          "sustained trades/s",
          secure.sustained_trades_per_s,
          "trades/s",
          secure.ratio_to_plaintext,
        ),
        secureRow(
          "producer",
          "p99 trade time → ack at 200 trades/s",
          (secure.latency_at_rate as Json).p99_ms,
          "ms",
          null,
        ),
      );
    }
  }
  if (consumer) {
    const goals = consumer.goals as Record<string, { goal: string; met: boolean }>;
    const reference = consumer.reference as Json;
    const latency = consumer.trade_to_queryable_ms_at_200_per_s as Json;
    rows.push({
      benchmark: "consumer",
      figure: "sustained trades/s, Kafka → committed Parquet",
      value: num((consumer.consumer as Json).sustained_trades_per_s),
      unit: "trades/s",
      goal: goals.sustained_trades_per_s!.goal,
      met: goals.sustained_trades_per_s!.met,
      reference: `kafka-consumer-perf-test ${num(reference.messages_per_s)} messages/s`,
      ratio: num(consumer.ratio_to_reference),
    }, {
      benchmark: "consumer",
      figure: "p99 trade time → queryable at 200 trades/s",
      value: num(latency.p99),
      unit: "ms",
      goal: goals.p99_trade_to_queryable_ms!.goal,
      met: goals.p99_trade_to_queryable_ms!.met,
      reference: "",
      ratio: null,
    }, {
      benchmark: "consumer",
      figure: "peak RSS",
      value: num((consumer.consumer as Json).peak_rss_mb),
      unit: "MB",
      goal: "",
      met: null,
      reference: "",
      ratio: null,
    });
    const usdm = consumer.usdm as Json | undefined;
    if (usdm) {
      rows.push(...futuresRows("consumer", "Kafka → committed Parquet", "queryable", usdm, reference.messages_per_s));
    }
    const clientAlone = consumer.client_alone as Json | undefined;
    if (clientAlone) {
      rows.push(clientCeilingRow(
        "consumer",
        "kafkajs reading alone, no decoding or writing (the client's ceiling)",
        num(clientAlone.records_per_s),
        "records/s",
        num(clientAlone.ratio_ours_to_client_alone),
      ));
    }
    const secure = consumer.secure as Json | undefined;
    if (secure) {
      rows.push(
        secureRow(
          "consumer",
          "sustained trades/s",
          secure.sustained_trades_per_s,
          "trades/s",
          secure.ratio_to_plaintext,
        ),
        secureRow(
          "consumer",
          "p99 trade time → queryable at 200 trades/s",
          (secure.trade_to_queryable_ms_at_200_per_s as Json).p99,
          "ms",
          null,
        ),
      );
    }
  }
  if (refresh) {
    const goals = refresh.goals as Record<string, { goal: string; met: boolean }>;
    rows.push({
      benchmark: "refresh",
      figure: `full refresh, ${num(refresh.trades)} trades`,
      value: num(refresh.full_refresh_s),
      unit: "s",
      goal: `${goals.full_refresh_s!.goal}; ratio ${goals.ratio_full_to_floor!.goal}`,
      met: goals.full_refresh_s!.met && goals.ratio_full_to_floor!.met,
      reference: `one-statement candles + order flow ${num(refresh.floor_s)} s`,
      ratio: num(refresh.ratio_full_to_floor),
    }, {
      benchmark: "refresh",
      figure: "incremental refresh after 5 new minutes",
      value: num(refresh.incremental_refresh_s),
      unit: "s",
      goal: goals.incremental_refresh_s!.goal,
      met: goals.incremental_refresh_s!.met,
      reference: "",
      ratio: null,
    });
  }
  if (archiveImport) rows.push(...importRows(archiveImport));
  return rows;
}

/** The import benchmark's rows: throughput against the one-statement floor, and memory on both days. */
function importRows(result: Json): BenchRow[] {
  const goals = result.goals as Record<string, { goal: string; met: boolean }>;
  const small = result.small_day as Json;
  return [{
    benchmark: "import",
    figure: `trades/s, archive day of ${num(result.trades)} trades → committed lake files`,
    value: num(result.trades_per_s),
    unit: "trades/s",
    goal: `${goals.trades_per_s!.goal}; ratio ${goals.ratio_to_floor!.goal}`,
    met: goals.trades_per_s!.met && goals.ratio_to_floor!.met,
    reference: `DuckDB CSV → Parquet, one statement ${num(result.floor_trades_per_s)} trades/s`,
    ratio: num(result.ratio_to_floor),
  }, {
    benchmark: "import",
    figure: `peak RSS, ${num(result.trades)}-trade day`,
    value: num(result.peak_rss_mb),
    unit: "MB",
    goal: `${goals.peak_rss_mb!.goal}; ${goals.rss_large_to_small!.goal} of the smaller day`,
    met: goals.peak_rss_mb!.met && goals.rss_large_to_small!.met,
    reference: `${num(small.trades)}-trade day ${num(small.peak_rss_mb)} MB`,
    ratio: num(result.rss_ratio_large_to_small),
  }];
}

/** A figure measured over SASL_SSL (`--secure`): no goal, its ratio to the plaintext figure of the same run. */
function secureRow(benchmark: string, figure: string, value: unknown, unit: string, ratio: unknown): BenchRow {
  return {
    benchmark,
    figure: `SASL_SSL: ${figure}`,
    value: num(value),
    unit,
    goal: "",
    met: null,
    reference: ratio === null ? "" : "secure ÷ plaintext",
    ratio: ratio === null ? null : num(ratio),
  };
}

/** A row for the Kafka client's own rate in the same run: no goal, our rate as a share of it. */
function clientCeilingRow(
  benchmark: string,
  figure: string,
  value: number | null,
  unit: string,
  ratio: number | null,
): BenchRow {
  return { benchmark, figure, value, unit, goal: "", met: null, reference: "ours ÷ this", ratio };
}

/** The rows as a markdown table. */
export function benchMarkdown(rows: readonly BenchRow[], title: string): string {
  const lines = [
    `# ${title}`,
    "",
    "| benchmark | figure | value | goal | met | reference (same run) | ratio |",
    "| --- | --- | ---: | --- | --- | --- | ---: |",
  ];
  for (const row of rows) {
    const value = row.value === null ? "n/a" : `${row.value.toLocaleString("en-US")} ${row.unit}`;
    const met = row.met === null ? "" : row.met ? "yes" : "no";
    const ratio = row.ratio === null ? "" : String(row.ratio);
    lines.push(`| ${row.benchmark} | ${row.figure} | ${value} | ${row.goal} | ${met} | ${row.reference} | ${ratio} |`);
  }
  return lines.join("\n") + "\n";
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** The USDⓈ-M rows of the producer or consumer benchmark: the same figures and goals as spot's, same reference. */
function futuresRows(benchmark: string, path: string, end: string, usdm: Json, referenceRate: unknown): BenchRow[] {
  const goals = usdm.goals as Record<string, { goal: string; met: boolean }>;
  const latency = (usdm.latency_at_rate ?? usdm.trade_to_queryable_ms_at_200_per_s) as Json;
  const latencyGoal = goals.p99_ms_at_200_per_s ?? goals.p99_trade_to_queryable_ms!;
  return [{
    benchmark,
    figure: `usdm: sustained trades/s, ${path}`,
    value: num(usdm.sustained_trades_per_s),
    unit: "trades/s",
    goal: goals.sustained_trades_per_s!.goal,
    met: goals.sustained_trades_per_s!.met,
    reference: `the same perf tool, ${num(referenceRate)}/s (spot ratio ${num(usdm.ratio_to_spot)})`,
    ratio: num(usdm.ratio_to_reference),
  }, {
    benchmark,
    figure: `usdm: p99 trade time → ${end} at 200 trades/s`,
    value: num(latency.p99_ms ?? latency.p99),
    unit: "ms",
    goal: latencyGoal.goal,
    met: latencyGoal.met,
    reference: "",
    ratio: null,
  }];
}
