/**
 * One fault case end to end: the local exchange (in-process) → `deno task producer` → the 3-node cluster →
 * `deno task consumer` → the Parquet lake, then the case's report.
 *
 * "Sent" is every valid trade the exchange made, ids `firstId..lastId` per symbol from its stats after
 * `POST /admin/halt`. Kafka and the lake are then read back in full: a sent id missing from either is lost, a copy
 * beyond the first in either is a duplicate, and a producer or consumer that exits unless the case killed it (or
 * exits non-zero when stopped) is a crash.
 */
import assert from "node:assert/strict";
import { type Exchange, type ExchangeReport, startExchange } from "../../tasks/lib/exchange/server.ts";
import type { ExchangeOptions } from "../../tasks/lib/exchange/options.ts";
import { createKafka } from "../../tasks/lib/kafka/client.ts";
import { decodeRecord } from "../../tasks/lib/lake/decoding/decode.ts";
import { DLQ_TOPIC, TRADES_TOPIC } from "../../tasks/lib/kafka/topics.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { type ReadMessage, readTopic } from "../helpers/kafka.ts";
import { collectOutput, spawnTask } from "../helpers/tasks.ts";
import { type FaultCluster, sleep } from "./_cluster.ts";
import { queryRows as query } from "../helpers/duckdb.ts";

/** Whether to run the full suite (`deno task test:faults` sets FAULTS_FULL=1) rather than CI's shorter subset. */
export const FULL = Deno.env.get("FAULTS_FULL") === "1";

/** Test options for cases that start brokers and processes of their own. */
export const FAULT_TEST = { sanitizeOps: false, sanitizeResources: false };

/**
 * Test options for cases that run only in the full suite: CI covers them on one broker already
 * (tests/tasks/producer_test.ts, tests/tasks/consumer_test.ts), and the whole suite exceeds CI's time budget.
 */
export const FULL_ONLY = { ...FAULT_TEST, ignore: !FULL };

/** The case's figures, printed as one JSON line. */
export interface CaseReport {
  case: string;
  sent: number;
  in_kafka: number;
  in_lake: number;
  lost: number;
  duplicated: number;
  /** DLQ records per reason; the consumer's own are prefixed `consumer:`. */
  dlq: Record<string, number>;
  crashes: number;
  /** Trades in Kafka or the lake the exchange never made (never expected). */
  unexpected: number;
  /** DLQ records without a reason or detail (never expected). */
  dlq_without_reason: number;
  /** WebSocket connections the exchange accepted. */
  connections: number;
  /** Trades the producer healed from REST (over all its runs). */
  backfilled: number;
  seconds: number;
  /** What each crash was, for the assertion message. */
  crashed: string[];
  /** Up to ten lost or doubled trades with where Kafka holds them, for the assertion message. */
  examples: string[];
}

/** A producer or consumer process the case runs. */
export interface Managed {
  readonly child: Deno.ChildProcess;
  output(): string;
  /** SIGKILL, as a crash would: expected, so not counted as one. */
  kill(): Promise<void>;
  /** SIGTERM, then wait: a clean stop exits 0, anything else is a crash. */
  stop(): Promise<void>;
}

/** What a case runs with. */
export interface PipelineOptions {
  name: string;
  cluster: FaultCluster;
  symbols?: string[];
  /** The exchange's options beyond port, symbols and start id. */
  exchange?: ExchangeOptions;
  /** Where the producer streams from instead of the exchange (a relay in front of it). */
  wsUrl?: (exchange: Exchange) => string;
}

const START_ID = 1_000_000;

/** The exchange, the producer and the consumer of one case, and the case's report. */
export class Pipeline {
  readonly exchange: Exchange;
  readonly cluster: FaultCluster;
  readonly symbols: string[];
  readonly lakeDir: string;
  readonly producerEnv: Record<string, string>;
  readonly consumerEnv: Record<string, string>;
  producer: Managed | undefined;
  consumer: Managed | undefined;
  readonly #name: string;
  readonly #started = performance.now();
  readonly #runs: { name: string; process: Managed }[] = [];
  readonly #crashes: string[] = [];
  readonly #stateDir: string;

  private constructor(options: PipelineOptions, exchange: Exchange, stateDir: string, lakeDir: string) {
    this.#name = options.name;
    this.exchange = exchange;
    this.cluster = options.cluster;
    this.symbols = options.symbols ?? ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    this.lakeDir = lakeDir;
    this.#stateDir = stateDir;
    const quiet = { LOG_FORMAT: "text", PRODUCER_METRICS_PORT: "0", CONSUMER_METRICS_PORT: "0" };
    this.producerEnv = {
      ...options.cluster.env,
      ...options.cluster.login("producer"),
      ...quiet,
      BINANCE_WS_URL: options.wsUrl?.(exchange) ?? `ws://127.0.0.1:${exchange.port}`,
      BINANCE_REST_URL: `http://127.0.0.1:${exchange.port}`,
      SYMBOLS: this.symbols.join(","),
      PRODUCER_STATE_PATH: `${stateDir}/state.json`,
      PRODUCER_STALE_AFTER_S: "5",
    };
    this.consumerEnv = { ...options.cluster.env, ...options.cluster.login("consumer"), ...quiet, LAKE_DIR: lakeDir };
  }

  /**
   * Starts the exchange and writes a producer state that has seen every symbol up to just before the first id,
   * so trades made before the producer connects are healed from REST and every trade made counts as sent.
   */
  static async start(options: PipelineOptions): Promise<Pipeline> {
    const symbols = options.symbols ?? ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    const exchange = await startExchange({
      seed: 8,
      rate: 100,
      ...options.exchange,
      port: 0,
      symbols,
      startId: START_ID,
    });
    const id = crypto.randomUUID();
    const stateDir = `data/producer/test-${id}`;
    await Deno.mkdir(`${PROJECT_ROOT}/${stateDir}`, { recursive: true });
    const tracker = {
      symbols: Object.fromEntries(symbols.map((s) => [s, { highest: START_ID - 1, gaps: [] }])),
      gapsFound: 0,
      idsHealed: 0,
      gapsAbandoned: [],
    };
    const state = { version: 1, savedAtMs: 0, topic: TRADES_TOPIC, offsets: {}, tracker };
    await Deno.writeTextFile(`${PROJECT_ROOT}/${stateDir}/state.json`, JSON.stringify(state));
    return new Pipeline({ ...options, symbols }, exchange, stateDir, `data/parquet/test-${id}`);
  }

  /** Starts a producer run; it becomes {@link producer}. */
  startProducer(): Managed {
    return this.producer = this.#spawn("producer", this.producerEnv);
  }

  /** Starts a consumer run; it becomes {@link consumer}. */
  startConsumer(): Managed {
    return this.consumer = this.#spawn("consumer", this.consumerEnv);
  }

  /** Distinct (pair, trade id) in the lake so far. */
  async lakeTrades(): Promise<number> {
    try {
      const [row] = await query(
        `select count(distinct (pair, trade_id)) as n from read_parquet('${this.#lakeGlob()}', hive_partitioning = true)`,
      );
      return Number(row!.n);
    } catch {
      return 0; // no file yet, or one renamed or removed while DuckDB listed the folder
    }
  }

  /** Waits until the lake holds `count` distinct trades or `timeoutMs` passes; returns what it holds. */
  async waitForLake(count: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let seen = await this.lakeTrades();
    while (seen < count && Date.now() < deadline) {
      await sleep(1000);
      seen = await this.lakeTrades();
    }
    return seen;
  }

  /**
   * Halts the exchange, waits until the lake holds every trade it made, stops the producer and the consumer
   * cleanly, reads Kafka and the lake back in full, and prints the report as one JSON line (after every process's
   * output with FAULTS_VERBOSE=1).
   */
  async finish(options: { drainTimeoutMs?: number; notes?: Record<string, unknown> } = {}): Promise<CaseReport> {
    const halted = await fetch(`http://127.0.0.1:${this.exchange.port}/admin/halt`, { method: "POST" });
    const made = await halted.json() as ExchangeReport;
    const sent = this.symbols.reduce((sum, s) => sum + made.symbols[s]!.count, 0);
    await this.waitForLake(sent, options.drainTimeoutMs ?? 120_000);
    await sleep(2000); // a copy published or written late would show now
    await Promise.all([this.producer?.stop(), this.consumer?.stop()]);

    const trades = await readAll(this.cluster, TRADES_TOPIC);
    const dlqRecords = await readAll(this.cluster, DLQ_TOPIC);
    const inKafka = new Map<string, number>();
    const where = new Map<string, string[]>();
    let foreignRecords = 0;
    for (const message of trades) {
      const trade = tradeOf(message);
      if (trade === undefined || !this.symbols.includes(trade.s)) {
        foreignRecords++;
        continue;
      }
      const key = `${trade.s}:${trade.t}`;
      inKafka.set(key, (inKafka.get(key) ?? 0) + 1);
      where.set(key, [...where.get(key) ?? [], `${message.partition}@${message.offset}`]);
    }
    const inLake = new Map<string, number>();
    const rows = await query(
      `select pair, trade_id, count(*) as copies from read_parquet('${this.#lakeGlob()}', hive_partitioning = true)
       group by all`,
    ).catch(() => []);
    for (const row of rows) inLake.set(`${row.pair}:${row.trade_id}`, Number(row.copies));

    let lost = 0;
    const examples: string[] = [];
    const expected = new Set<string>();
    for (const symbol of this.symbols) {
      const { firstId, lastId } = made.symbols[symbol]!;
      if (firstId === null || lastId === null) continue;
      for (let id = firstId; id <= lastId; id++) {
        const key = `${symbol}:${id}`;
        expected.add(key);
        const [kafka, lake] = [inKafka.get(key) ?? 0, inLake.get(key) ?? 0];
        if (kafka === 0 || lake === 0) lost++;
        if ((kafka !== 1 || lake !== 1) && examples.length < 10) {
          examples.push(`${key} ${kafka}× in Kafka (${where.get(key)?.join(", ") ?? "-"}), ${lake}× in the lake`);
        }
      }
    }
    const copies = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    const unexpected = [...new Set([...inKafka.keys(), ...inLake.keys()])].filter((key) => !expected.has(key));
    const dlq: Record<string, number> = {};
    let withoutReason = 0;
    for (const message of dlqRecords) {
      const record = JSON.parse(message.value) as { reason?: string; detail?: string; source?: unknown };
      if (!record.reason || !record.detail) withoutReason++;
      const key = `${record.source === undefined ? "" : "consumer:"}${record.reason}`;
      dlq[key] = (dlq[key] ?? 0) + 1;
    }
    const summaries = this.#runs.filter((run) => run.name === "producer").map((run) => producerSummary(run.process));
    const report: CaseReport = {
      case: this.#name,
      sent,
      in_kafka: trades.length - foreignRecords,
      in_lake: rows.reduce((sum, row) => sum + Number(row.copies), 0),
      lost,
      duplicated: copies(inKafka) + copies(inLake),
      dlq: Object.fromEntries(Object.entries(dlq).sort(([a], [b]) => a.localeCompare(b))),
      crashes: this.#crashes.length,
      unexpected: unexpected.length,
      dlq_without_reason: withoutReason,
      connections: this.exchange.stats().connections.total,
      backfilled: summaries.reduce((sum, summary) => sum + (summary?.backfilled ?? 0), 0),
      seconds: Math.round((performance.now() - this.#started) / 1000),
      crashed: [...this.#crashes],
      examples,
    };
    const { crashed: _crashed, examples: _examples, ...line } = report;
    if (Deno.env.get("FAULTS_VERBOSE") === "1") console.log(this.logs());
    console.log(JSON.stringify({ ...line, ...options.notes }));
    return report;
  }

  /** Every run's output, for assertion messages. */
  logs(): string {
    return this.#runs.map((run, i) => `--- ${run.name} run ${i + 1} ---\n${run.process.output()}`).join("\n");
  }

  /** Kills whatever still runs, stops the exchange, removes the lake and the producer state (FAULTS_KEEP=1 keeps them). */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#runs.map((run) => run.process.kill()));
    await this.exchange.shutdown();
    if (Deno.env.get("FAULTS_KEEP") === "1") return console.log(`kept ${this.lakeDir} and ${this.#stateDir}`);
    await Deno.remove(`${PROJECT_ROOT}/${this.lakeDir}`, { recursive: true }).catch(() => {});
    await Deno.remove(`${PROJECT_ROOT}/${this.#stateDir}`, { recursive: true }).catch(() => {});
  }

  #spawn(name: "producer" | "consumer", env: Record<string, string>): Managed {
    const child = spawnTask(name, env);
    const output = collectOutput(child);
    let expected = false;
    let exited = false;
    const status = child.status.then((status) => {
      exited = true;
      if (!expected) this.#crashes.push(`${name} run exited on its own with code ${status.code}`);
      return status;
    });
    const process: Managed = {
      child,
      output: output.text,
      kill: async () => {
        expected = true;
        if (!exited) child.kill("SIGKILL");
        await status;
        await output.done;
      },
      stop: async () => {
        if (exited) return;
        expected = true;
        child.kill("SIGTERM");
        const { code } = await status;
        await output.done;
        if (code !== 0) this.#crashes.push(`${name} run exited with code ${code} when stopped`);
      },
    };
    this.#runs.push({ name, process });
    return process;
  }

  #lakeGlob(): string {
    return `${PROJECT_ROOT}/${this.lakeDir}/pair=*/**/*.parquet`; // not _dlq/, the DLQ's own files
  }
}

/**
 * The promise of every case: every trade sent is in Kafka and in the lake exactly once, nothing crashed, and the
 * DLQ holds exactly `dlq` (reason → records), each record with its reason.
 */
export function assertExactlyOnce(report: CaseReport, logs: () => string, dlq: Record<string, number> = {}): void {
  const { examples, ...rest } = report;
  const figures = `${JSON.stringify(rest)}\n${examples.join("\n")}`;
  // The figures last: a CI log that keeps only the tail still shows where trades went missing.
  const withLogs = () => `${logs()}\n--- figures ---\n${figures}`;
  assert.deepEqual(report.crashed, [], withLogs());
  assert.equal(report.lost, 0, withLogs());
  assert.equal(report.duplicated, 0, withLogs());
  assert.equal(report.unexpected, 0, figures);
  assert.ok(report.sent > 0, figures);
  assert.equal(report.in_kafka, report.sent, figures);
  assert.equal(report.in_lake, report.sent, figures);
  assert.equal(report.dlq_without_reason, 0, figures);
  assert.deepEqual(report.dlq, dlq, figures);
}

/** Every record of `topic`, read from the beginning up to its current end. */
async function readAll(cluster: FaultCluster, topic: string): Promise<ReadMessage[]> {
  const admin = createKafka(cluster.brokers, { quiet: true, security: cluster.security }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  if (total === 0) return [];
  return await readTopic(cluster.brokers, topic, (messages) => messages.length >= total, 120_000, cluster.security);
}

/** The trade a record holds, if the consumer would take it into the lake. */
function tradeOf(message: ReadMessage): { s: string; t: number } | undefined {
  const decoded = decodeRecord(message.value, message.partition, BigInt(message.offset));
  return "row" in decoded ? { s: decoded.row.partition.pair, t: decoded.row.tradeId } : undefined;
}

function producerSummary(run: Managed): { backfilled: number } | undefined {
  const line = run.output().split("\n").find((l) => l.includes('"producer_summary"'));
  return line === undefined ? undefined : JSON.parse(line.slice(line.indexOf("{")));
}
