/**
 * Prometheus metrics of the producer and the consumer, in the text exposition format, served at
 * `http://127.0.0.1:<port>/metrics`. prom-client keeps the values and writes the format; each process has its own
 * registry.
 *
 * Counters the tasks already keep elsewhere (reconnects in the exchange stream, gaps in the gap tracker) and gauges
 * (lag, buffered rows) are read when scraped, through `sample`, so they match the progress lines.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "./log.ts";

export { Registry };

/** Trade time → acknowledgement: from a few milliseconds on a quiet loopback to a minute behind a stalled broker. */
const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** One flush: writing, fsyncing and renaming a partition's files, then committing. */
const FLUSH_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the producer reports when scraped: totals since it started, and its state now. */
export interface ProducerSample {
  reconnects: number;
  gapsFound: number;
  gapIdsHealed: number;
  openGaps: number;
  /** Per symbol, newest acknowledged trade time behind now, in seconds; symbols without a trade yet are absent. */
  lagSeconds: Record<string, number>;
}

/** The producer's metrics, all named `crypto_producer_*`. */
export interface ProducerMetrics {
  registry: Registry;
  trades: Counter<"symbol">;
  backfilledTrades: Counter<"symbol">;
  dlqEvents: Counter<"reason">;
  ackLatency: Histogram;
  /** Tells the metrics read at scrape time where to read from. */
  sample(read: () => ProducerSample): void;
}

/** What the consumer reports when scraped. */
export interface ConsumerSample {
  lagMessages: number;
  /** Newest trade time read behind now; undefined before the first trade. */
  lagSeconds: number | undefined;
  bufferedRows: number;
}

/** The consumer's metrics, all named `crypto_consumer_*`. */
export interface ConsumerMetrics {
  registry: Registry;
  rowsWritten: Counter;
  filesWritten: Counter;
  dlqEvents: Counter<"reason">;
  writeFailures: Counter;
  /** Kafka consumers replaced because one stopped reading partitions that hold records. */
  consumerRestarts: Counter;
  flushSeconds: Histogram;
  /** Tells the metrics read at scrape time where to read from. */
  sample(read: () => ConsumerSample): void;
}

/**
 * A fresh registry with the producer's metrics.
 *
 * @example Usage
 * ```ts
 * const metrics = createProducerMetrics();
 * metrics.trades.inc({ symbol: "BTCUSDT" });
 * console.log(await metrics.registry.metrics()); // # HELP crypto_producer_trades_total …
 * ```
 */
export function createProducerMetrics(): ProducerMetrics {
  const registry = new Registry();
  const registers = [registry];
  let read: (() => ProducerSample) | undefined;
  const total = (name: string, help: string, pick: (sample: ProducerSample) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        if (read === undefined) return;
        this.reset();
        this.inc(pick(read()));
      },
    });
  const gapsFoundHelp = "Trade-id gaps found (jumps in ids, or trades missed while disconnected).";
  total("crypto_producer_reconnects_total", "Exchange connections lost and opened again.", (s) => s.reconnects);
  total("crypto_producer_gaps_found_total", gapsFoundHelp, (s) => s.gapsFound);
  total("crypto_producer_gap_ids_healed_total", "Missing trade ids recovered by REST backfill.", (s) => s.gapIdsHealed);
  new Gauge({
    name: "crypto_producer_open_gaps",
    help: "Trade-id gaps not yet healed.",
    registers,
    collect() {
      if (read !== undefined) this.set(read().openGaps);
    },
  });
  new Gauge({
    name: "crypto_producer_lag_seconds",
    help: "How far the newest trade Kafka acknowledged is behind now, by trade time.",
    labelNames: ["symbol"],
    registers,
    collect() {
      if (read === undefined) return;
      this.reset();
      for (const [symbol, seconds] of Object.entries(read().lagSeconds)) this.set({ symbol }, seconds);
    },
  });
  return {
    registry,
    trades: new Counter({
      name: "crypto_producer_trades_total",
      help: "Trades acknowledged by Kafka (streamed and backfilled).",
      labelNames: ["symbol"],
      registers,
    }),
    backfilledTrades: new Counter({
      name: "crypto_producer_backfilled_trades_total",
      help: "Trades recovered from REST backfill and acknowledged by Kafka.",
      labelNames: ["symbol"],
      registers,
    }),
    dlqEvents: new Counter({
      name: "crypto_producer_dlq_events_total",
      help: "Invalid events acknowledged in the dead-letter topic, by reason.",
      labelNames: ["reason"],
      registers,
    }),
    ackLatency: new Histogram({
      name: "crypto_producer_ack_latency_seconds",
      help: "Trade time to Kafka acknowledgement of streamed (not backfilled) trades.",
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    sample: (reader) => void (read = reader),
  };
}

/** A fresh registry with the consumer's metrics. */
export function createConsumerMetrics(): ConsumerMetrics {
  const registry = new Registry();
  const registers = [registry];
  let read: (() => ConsumerSample) | undefined;
  const gauge = (name: string, help: string, pick: (sample: ConsumerSample) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = read === undefined ? undefined : pick(read());
        if (value !== undefined) this.set(value);
      },
    });
  const lagMessagesHelp = "Records of the last partition read still ahead of the consumer.";
  gauge("crypto_consumer_lag_messages", lagMessagesHelp, (s) => s.lagMessages);
  gauge(
    "crypto_consumer_lag_seconds",
    "How far the newest trade written to the lake is behind now, by trade time.",
    (s) => s.lagSeconds,
  );
  gauge("crypto_consumer_buffered_rows", "Rows read but not yet in a lake file.", (s) => s.bufferedRows);
  return {
    registry,
    rowsWritten: new Counter({
      name: "crypto_consumer_rows_written_total",
      help: "Trades written to committed lake files.",
      registers,
    }),
    filesWritten: new Counter({
      name: "crypto_consumer_files_written_total",
      help: "Parquet files written to the lake.",
      registers,
    }),
    dlqEvents: new Counter({
      name: "crypto_consumer_dlq_events_total",
      help: "Records that could not be decoded, sent to the dead-letter topic, by reason.",
      labelNames: ["reason"],
      registers,
    }),
    writeFailures: new Counter({
      name: "crypto_consumer_write_failures_total",
      help: "Lake writes that failed (nothing committed; the partition is read again).",
      registers,
    }),
    consumerRestarts: new Counter({
      name: "crypto_consumer_restarts_total",
      help: "Kafka consumers replaced because one stopped reading partitions that hold records (read again from " +
        "the committed offsets).",
      registers,
    }),
    flushSeconds: new Histogram({
      name: "crypto_consumer_flush_seconds",
      help: "Time from the start of a flush that wrote files to its commit: decode, write, fsync, rename, commit.",
      buckets: FLUSH_BUCKETS_S,
      registers,
    }),
    sample: (reader) => void (read = reader),
  };
}

/** A running `/metrics` endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/metrics` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `registry` at `GET /metrics` on `hostname` (default 127.0.0.1) and `port` (0: any free port).
 *
 * @throws {Deno.errors.AddrInUse} when the port is taken
 */
export function serveMetrics(registry: Registry, options: { port: number; hostname?: string }): MetricsServer {
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
    onListen: () => {}, // the task says where, in its own log format
    onError: (error) => new Response(`Cannot collect the metrics: ${(error as Error).message}\n`, { status: 500 }),
  }, async (request) => {
    if (new URL(request.url).pathname !== "/metrics") {
      return new Response("Not found: the metrics are at /metrics\n", { status: 404 });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const body = await registry.metrics();
    return new Response(request.method === "HEAD" ? null : body, { headers: { "content-type": registry.contentType } });
  });
  const { hostname, port } = server.addr;
  let closing: Promise<void> | undefined;
  const close = () => closing ??= server.shutdown();
  return { url: `http://${hostname}:${port}/metrics`, port, close, [Symbol.asyncDispose]: close };
}

/**
 * The task's endpoint on 127.0.0.1:`port`, or none when `port` is undefined (the setting is 0). A taken port is
 * logged and the task runs on without metrics: ingestion matters more than its measurement.
 */
export function startMetricsEndpoint(
  registry: Registry,
  port: number | undefined,
  options: { log: Logger; setting: string },
): MetricsServer | undefined {
  if (port === undefined) return undefined;
  try {
    const server = serveMetrics(registry, { port });
    options.log.info(`metrics: ${server.url}`);
    return server;
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    options.log.warn(
      `metrics not served: 127.0.0.1:${port} is taken; set ${options.setting} to a free port, or 0 for no metrics`,
    );
    return undefined;
  }
}
