/**
 * The consumer's job from start to shutdown: one market's trades topic (crypto.trades.v1 for spot) → decode →
 * Parquet files in that market's dataset (marketLakeDir) → commit. Records that cannot be decoded, or are of another
 * market, go to the market's DLQ topic (sent and acknowledged before their offset is committed).
 *
 * One consumer, group and topic set per market: each group's committed offsets say what one dataset holds, so the
 * exactly-once clean-up of one market never sees, or removes, the other's files.
 *
 * This thread reads Kafka and buffers raw records; a worker thread decodes each flush and writes its files (see
 * worker_writer.ts) while the next flush fills. This thread then publishes the files and commits, flush after flush
 * in order.
 */
import { type Admin, Partitioners } from "kafkajs";
import type { KafkaConfig } from "../config.ts";
import { createKafka } from "../kafka/client.ts";
import { StallWatch } from "../kafka/stall_watch.ts";
import { sleep } from "../sleep.ts";
import { dlqGroupId, type Market, marketLakeDir, marketProfile } from "../market.ts";
import { ensureGroupAccess } from "../kafka/failures.ts";
import { MAX_DLQ_RAW_CHARS, SCHEMA_VERSION } from "../ingest/envelope.ts";
import type { DeadLetter } from "./decoding/decode.ts";
import {
  FlushError,
  LakeSink,
  OwnershipLostError,
  removeUncommitted,
  type Rewind,
  type RotationLimits,
} from "./writing/lake_sink.ts";
import type { RawRecord } from "./decoding/packed_records.ts";
import { LakeWorkerWriter } from "./writing/worker_writer.ts";
import { type DlqSinkSummary, startDlqSink } from "./dlq/dlq_sink.ts";
import { type ConsumerMetrics, createConsumerMetrics } from "../metrics.ts";

/** On a cluster with ACLs, whether this principal may use the consumer's groups (see ensureGroupAccess). */
async function checkGroupAccess(admin: Admin, market: Market): Promise<void> {
  const { consumerGroup, tradesTopic, dlqTopic } = marketProfile(market);
  await ensureGroupAccess(admin, consumerGroup, tradesTopic, "the consumer's");
  await ensureGroupAccess(admin, dlqGroupId(market), dlqTopic, "the consumer's");
}

/** The consumer group whose committed offsets say what the spot lake holds (see marketProfile for the others). */
export const LAKE_GROUP_ID = marketProfile("spot").consumerGroup;

/**
 * The lake consumer group's committed offset (the next offset to read) per partition of `market`'s trades topic; a
 * partition with nothing committed is absent. Everything before these offsets is durable in the lake.
 */
export async function committedLakeOffsets(admin: Admin, market: Market = "spot"): Promise<Map<number, bigint>> {
  const { consumerGroup, tradesTopic } = marketProfile(market);
  const [topic] = await admin.fetchOffsets({ groupId: consumerGroup, topics: [tradesTopic] });
  const committed = new Map<number, bigint>();
  for (const { partition, offset } of topic?.partitions ?? []) {
    if (offset !== "-1") committed.set(partition, BigInt(offset));
  }
  return committed;
}

/** Everything the consumer needs to run. */
export interface ConsumerSettings {
  kafka: KafkaConfig;
  /** LAKE_DIR: the market's dataset is {@link marketLakeDir} of it (spot: this folder itself). */
  lakeDir: string;
  /** Default: spot. */
  market?: Market;
  rotation?: Partial<RotationLimits>;
  /** How often a progress line is printed. Default: 5 s. */
  progressEveryMs?: number;
  /** Where lines go; warnings and errors say so. Default: console.log. */
  log?: (line: string, level?: "warn" | "error") => void;
  /** Updated as files are written and read when scraped. Default: a fresh registry nobody serves. */
  metrics?: ConsumerMetrics;
  /** Also write the market's DLQ topic into `<dataset>/_dlq/` (see dlq_sink.ts). Default: true. */
  dlqSink?: boolean;
  /** When the DLQ sink's buffers become files. Default: 10,000 rows or 5 s. */
  dlqRotation?: Partial<RotationLimits>;
  /** A partition with unread records that is not read for this long gets a new Kafka consumer. Default: 45 s. */
  stallMs?: number;
}

/** What the consumer did, printed as JSON at shutdown. */
export interface ConsumerSummary {
  rows: number;
  files: number;
  dlq: Record<string, number>;
  removedUncommitted: number;
  /** Partitions whose last buffered records could not be written at shutdown (they are re-read on restart). */
  unwrittenPartitions: number[];
  /** Largest resident set size seen (sampled with each progress line and at the end). */
  peakRssBytes: number;
  /** What the DLQ sink wrote to `_dlq/`; absent when it was switched off. */
  dlqLake?: DlqSinkSummary;
}

/** Runs until `signal` aborts, then writes and commits what is buffered and returns the summary. */
export async function runConsumer(settings: ConsumerSettings, signal: AbortSignal): Promise<ConsumerSummary> {
  const log = settings.log ?? ((line: string) => console.log(line));
  const market = settings.market ?? "spot";
  const { tradesTopic, dlqTopic, consumerGroup } = marketProfile(market);
  const datasetDir = marketLakeDir(settings.lakeDir, market);
  const metrics = settings.metrics ?? createConsumerMetrics();
  const limits: RotationLimits = { maxRows: 100_000, maxAgeMs: 1000, ...settings.rotation };
  const kafka = createKafka(settings.kafka.brokers, { clientId: "crypto-consumer", security: settings.kafka.security });
  // A consumer that died without leaving the group holds its partitions until its session times out: keep that
  // short, so a restart after kill -9 resumes within seconds rather than a minute.
  const newKafkaConsumer = () =>
    kafka.consumer({
      groupId: consumerGroup,
      allowAutoTopicCreation: false,
      maxBytes: 32 * 2 ** 20,
      sessionTimeout: 10_000,
      rebalanceTimeout: 15_000,
      heartbeatInterval: 1000,
    });
  // Replaced by a new one when it stops reading (see StallWatch); each has its own generation, so a late batch of a
  // replaced consumer is never buffered next to the new one's.
  let consumer = newKafkaConsumer();
  let generation = 0;
  const stallWatch = new StallWatch(settings.stallMs ?? 45_000);
  const dlq = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  const admin = kafka.admin();

  const summary: ConsumerSummary = {
    rows: 0,
    files: 0,
    dlq: {},
    removedUncommitted: 0,
    unwrittenPartitions: [],
    peakRssBytes: Deno.memoryUsage().rss,
  };
  let lastTradeUs = 0;
  const writer = await LakeWorkerWriter.open(datasetDir, {
    deadLetter: async (partition, letter) => {
      await sendToDlq(dlq, letter, partition, tradesTopic, dlqTopic);
      summary.dlq[letter.reason] = (summary.dlq[letter.reason] ?? 0) + 1;
      metrics.dlqEvents.inc({ reason: letter.reason });
    },
    wroteUpTo: (tradeTimeUs) => {
      lastTradeUs = Math.max(lastTradeUs, tradeTimeUs);
    },
  }, market);
  await Promise.all([consumer.connect(), dlq.connect(), admin.connect()])
    .then(() => settings.kafka.security.protocol === "SASL_SSL" ? checkGroupAccess(admin, market) : undefined)
    .catch(async (error) => {
      await writer.close();
      throw error;
    });
  const dlqSink = settings.dlqSink === false
    ? undefined
    : await startDlqSink(kafka, admin, { lakeDir: datasetDir, market, rotation: settings.dlqRotation, log });
  // Partitions this consumer owns; none while the group rebalances, so nothing is published that the next owner
  // might not know of. kafkajs announces a rebalance before it rejoins, and another consumer can only be given a
  // partition once this one has rejoined.
  const owned = new Set<number>();
  let rebalancing = false;
  const owns = (partition: number) => !rebalancing && owned.has(partition);
  const sink = new LakeSink<RawRecord>(
    writer,
    async (partition, offset) => {
      await consumer.commitOffsets([{ topic: tradesTopic, partition, offset: String(offset) }]);
    },
    limits,
    owns,
    { overlap: true },
  );
  // Handling a batch, starting or reporting flushes, and the clean-up after a rebalance never overlap: each waits for
  // the one before. (The flushes themselves run on in the background; the clean-up waits for them too.)
  let exclusive: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(task);
    exclusive = run.catch(() => {});
    return run;
  };
  const record = (outcomes: { rows: number; files: string[] }[]) => {
    for (const outcome of outcomes) {
      summary.rows += outcome.rows;
      summary.files += outcome.files.length;
      metrics.rowsWritten.inc(outcome.rows);
      metrics.filesWritten.inc(outcome.files.length);
    }
  };
  // A write that fails commits nothing: rewind the partition to its first uncommitted record and pause, as the S3
  // sink does, so the records are written once the fault clears (never skipped, never buffered twice).
  let failures = 0;
  const flush = async (force = false) => {
    try {
      const outcomes = await sink.flushDue(Date.now(), force);
      for (const outcome of outcomes) if (outcome.files.length > 0) metrics.flushSeconds.observe(outcome.seconds);
      record(outcomes);
      failures = 0;
    } catch (error) {
      // Flushes started after the failed one were abandoned: their partitions are read again too.
      const rewind = (rewinds: Rewind[]) => {
        for (const { partition, resumeOffset } of rewinds) {
          if (!owns(partition)) continue;
          consumer.seek({ topic: tradesTopic, partition, offset: String(resumeOffset) });
          stallWatch.read(partition, resumeOffset, Date.now());
        }
      };
      if (error instanceof OwnershipLostError) {
        rewind(error.rewinds);
        return log(error.message, "warn");
      }
      if (error instanceof FlushError) metrics.writeFailures.inc();
      if (!(error instanceof FlushError) || force) throw error;
      const pauseMs = Math.min(30_000, 500 * 2 ** failures++);
      log(
        `${error.message}; retrying from offset ${error.resumeOffset} in ${(pauseMs / 1000).toFixed(1)} s`,
        "error",
      );
      rewind(error.rewinds);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };

  // On every assignment: forget every buffer (once the flushes under way are over), remove files a partition wrote but
  // never committed, and read each assigned partition again from the committed offset that clean-up went by. kafkajs
  // took its own before this join, and a commit of the previous assignment can land in between (a coordinator moving
  // to another broker): reading from kafkajs's older offset would write again records the lake already holds.
  const onJoin = (assigned: Set<number>) =>
    serially(async () => {
      await sink.dropAll();
      owned.clear();
      rebalancing = false;
      const committed = await committedLakeOffsets(admin, market);
      for (const partition of assigned) {
        owned.add(partition);
        const offset = committed.get(partition);
        const removed = await removeUncommitted(writer.lakeDir, partition, offset ?? 0n);
        summary.removedUncommitted += removed.length;
        if (removed.length > 0) log(`removed ${removed.length} uncommitted files of partition ${partition}`);
        if (offset !== undefined) consumer.seek({ topic: tradesTopic, partition, offset: String(offset) });
      }
      stallWatch.assigned(owned, Date.now());
    });

  let lagMessages = 0;
  const startReading = async () => {
    const current = generation;
    consumer.on(consumer.events.REBALANCING, () => {
      if (current === generation) rebalancing = true;
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (current === generation) void onJoin(new Set(payload.memberAssignment[tradesTopic] ?? []));
    });
    await consumer.subscribe({ topic: tradesTopic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      // Offsets are resolved one by one, and a batch made stale by a rewind is left alone.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, resolveOffset, isStale }) => {
        await serially(async () => {
          // The join's clean-up was queued before any batch of the new assignment, so this cannot happen; throwing
          // makes kafkajs fetch the batch again rather than move past records never written. A replaced consumer's
          // batch is thrown away the same way.
          if (current !== generation) throw new Error("Got a batch of a replaced consumer");
          if (!owned.has(batch.partition)) throw new Error(`Got a batch of unassigned partition ${batch.partition}`);
          const now = Date.now();
          // Resolved once, up to the last record handled: kafkajs parses and formats a 64-bit offset on every call.
          let handled: string | undefined;
          try {
            for (const message of batch.messages) {
              if (isStale()) return;
              const kafkaOffset = BigInt(message.offset);
              sink.add(batch.partition, kafkaOffset, { kafkaOffset, value: message.value }, now);
              handled = message.offset;
            }
          } finally {
            if (handled !== undefined) {
              resolveOffset(handled);
              stallWatch.read(batch.partition, BigInt(handled) + 1n, now);
            }
          }
          lagMessages = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
          await flush();
        });
        await heartbeat();
      },
    });
  };
  await startReading();

  // A consumer that owns partitions with unread records but reads none of them for stallMs is replaced: the new one
  // joins the group and reads from the committed offsets, exactly as after a restart of the process.
  const replaceIfStalled = async () => {
    if (rebalancing || owned.size === 0) return;
    const [highWatermarks, committed] = await Promise.all([
      admin.fetchTopicOffsets(tradesTopic).then((partitions) =>
        new Map(partitions.map(({ partition, high }) => [partition, BigInt(high)]))
      ),
      committedLakeOffsets(admin, market),
    ]);
    const stall = stallWatch.stalled(highWatermarks, committed, Date.now());
    if (!stall) return;
    await serially(async () => {
      log(
        `partition ${stall.partition} has not been read for ${(stall.stuckMs / 1000).toFixed(0)} s ` +
          `(at offset ${stall.nextOffset ?? committed.get(stall.partition) ?? 0n} of ${stall.highWatermark}): ` +
          "starting a new Kafka consumer, which reads again from the committed offsets",
        "warn",
      );
      metrics.consumerRestarts.inc();
      rebalancing = true;
      owned.clear();
      await sink.dropAll();
      const replaced = consumer;
      consumer = newKafkaConsumer();
      generation++;
      // Leaving the group may hang on the very broker that stalled it; its session then simply times out.
      const patience = new AbortController();
      await Promise.race([replaced.disconnect().catch(() => {}), sleep(15_000, patience.signal)]);
      patience.abort();
      await consumer.connect();
    });
    if (!signal.aborted) await startReading();
  };
  let watching: Promise<void> | undefined;
  const stallTimer = setInterval(() => {
    if (watching || signal.aborted) return;
    watching = replaceIfStalled()
      .catch((error) => log(`checking whether the consumer reads: ${error.message}`, "warn"))
      .finally(() => watching = undefined);
  }, 5000);

  metrics.sample(() => ({
    lagMessages,
    lagSeconds: lastTradeUs === 0 ? undefined : (Date.now() - lastTradeUs / 1000) / 1000,
    bufferedRows: sink.buffered,
  }));
  const ageTimer = setInterval(() => void serially(() => flush()), 100);
  let previous = { at: performance.now(), rows: 0 };
  const progress = setInterval(() => {
    summary.peakRssBytes = Math.max(summary.peakRssBytes, Deno.memoryUsage().rss);
    const now = performance.now();
    const perSecond = (summary.rows - previous.rows) / ((now - previous.at) / 1000);
    const lagSeconds = lastTradeUs === 0 ? "n/a" : `${((Date.now() - lastTradeUs / 1000) / 1000).toFixed(1)} s`;
    log(
      `progress: ${perSecond.toFixed(0)} rows/s | ${summary.rows} rows in ${summary.files} files | ` +
        `lag ${lagMessages} messages, ${lagSeconds} | buffered ${sink.buffered} | partitions ${
          [...owned].sort((a, b) => a - b).join(",") || "none"
        }`,
    );
    previous = { at: now, rows: summary.rows };
  }, settings.progressEveryMs ?? 5000);

  await new Promise<void>((resolve) => signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve()));
  log("shutting down: writing and committing what is buffered");
  clearInterval(ageTimer);
  clearInterval(progress);
  clearInterval(stallTimer);
  await watching;
  consumer.pause([{ topic: tradesTopic }]);
  await serially(() => flush(true)).catch((error) => {
    if (!(error instanceof FlushError)) throw error;
    summary.unwrittenPartitions.push(...error.rewinds.map((rewind) => rewind.partition));
    log(`${error.message}; nothing was committed, so a restart writes these records again`, "error");
  });
  await consumer.disconnect();
  // After the trades: DLQ records the last flush sent are in the topic by now; those it has not read wait for the
  // next run.
  if (dlqSink) summary.dlqLake = await dlqSink.stop();
  await Promise.all([dlq.disconnect(), admin.disconnect()]);
  await writer.close();
  summary.peakRssBytes = Math.max(summary.peakRssBytes, Deno.memoryUsage().rss);
  return summary;
}

async function sendToDlq(
  producer: ReturnType<ReturnType<typeof createKafka>["producer"]>,
  { raw, reason, detail, kafkaOffset: offset }: DeadLetter,
  partition: number,
  tradesTopic: string,
  dlqTopic: string,
): Promise<void> {
  const record = {
    schema_version: SCHEMA_VERSION,
    reason,
    detail,
    received_at_ms: Date.now(),
    raw: raw.slice(0, MAX_DLQ_RAW_CHARS),
    raw_length: raw.length,
    raw_truncated: raw.length > MAX_DLQ_RAW_CHARS,
    symbol: null,
    source: { topic: tradesTopic, partition, offset: String(offset) },
  };
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: [{ key: null, value: JSON.stringify(record), headers: { reason, stage: "consumer" } }],
  });
}
