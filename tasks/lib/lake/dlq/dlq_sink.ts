/**
 * The DLQ's way into the lake, run by the consumer process beside the trades: the market's DLQ topic
 * (crypto.trades.dlq.v1, consumer group `crypto-dlq-writer`, for spot) → {@link decodeDlqRecord} → Parquet under
 * `<dataset>/_dlq/` (the market's own dataset: LAKE_DIR itself for spot) → commit.
 *
 * Exactly once, as for the trades ({@link LakeSink}): files are renamed into place before offset = last + 1 is
 * committed, named by partition and first offset, and on every assignment a partition's uncommitted `dlq-` files are
 * removed before anything of it is written again.
 */
import type { Admin, Kafka } from "kafkajs";
import { dlqGroupId, type Market, marketProfile } from "../../market.ts";
import { decodeDlqRecord } from "./dlq_decode.ts";
import { DLQ_FOLDER, type DlqRow, parseDlqFileName } from "./dlq_schema.ts";
import { DlqWriter } from "./dlq_writer.ts";
import {
  type FileNaming,
  FlushError,
  LakeSink,
  OwnershipLostError,
  removeUncommitted,
  type RotationLimits,
} from "../writing/lake_sink.ts";

export { DLQ_GROUP_ID, dlqGroupId } from "../../market.ts";

/** DLQ files' names: `dlq-<partition>-<offset>.parquet`, written as `.dlq-….parquet.tmp`. */
export const DLQ_FILES: FileNaming = {
  parse: parseDlqFileName,
  temporaryPrefix: (partition) => `.dlq-${partition}-`,
};

/** Dead letters are few: a file per partition every 5 s at most. */
export const DLQ_ROTATION: RotationLimits = { maxRows: 10_000, maxAgeMs: 5000 };

/** What the DLQ sink did, part of the consumer's summary. */
export interface DlqSinkSummary {
  rows: number;
  files: number;
  /** Records read per reason (one read again after a failed write counts twice). */
  reasons: Record<string, number>;
  removedUncommitted: number;
  /** Partitions whose last buffered records could not be written at shutdown (they are re-read on restart). */
  unwrittenPartitions: number[];
}

/** Settings of {@link startDlqSink}. */
export interface DlqSinkSettings {
  /** The market's dataset folder. */
  lakeDir: string;
  /** Default: spot. */
  market?: Market;
  rotation?: Partial<RotationLimits>;
  log: (line: string, level?: "warn" | "error") => void;
}

/** A running DLQ sink. */
export interface DlqSink {
  /** Writes and commits what is buffered, leaves the group and returns the summary. */
  stop(): Promise<DlqSinkSummary>;
}

/** The DLQ group's committed offset (the next to read) per partition of `market`'s DLQ topic; absent when none. */
export async function committedDlqOffsets(admin: Admin, market: Market = "spot"): Promise<Map<number, bigint>> {
  const [topic] = await admin.fetchOffsets({ groupId: dlqGroupId(market), topics: [marketProfile(market).dlqTopic] });
  const committed = new Map<number, bigint>();
  for (const { partition, offset } of topic?.partitions ?? []) {
    if (offset !== "-1") committed.set(partition, BigInt(offset));
  }
  return committed;
}

/** Joins the DLQ group and writes every DLQ record into the lake until {@link DlqSink.stop}. */
export async function startDlqSink(kafka: Kafka, admin: Admin, settings: DlqSinkSettings): Promise<DlqSink> {
  const log = settings.log;
  const market = settings.market ?? "spot";
  const dlqTopic = marketProfile(market).dlqTopic;
  const limits: RotationLimits = { ...DLQ_ROTATION, ...settings.rotation };
  const writer = await DlqWriter.open(settings.lakeDir);
  const dlqRoot = `${writer.lakeDir}/${DLQ_FOLDER}`;
  const consumer = kafka.consumer({
    groupId: dlqGroupId(market),
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    rebalanceTimeout: 15_000,
    heartbeatInterval: 1000,
  });
  await consumer.connect();
  const summary: DlqSinkSummary = { rows: 0, files: 0, reasons: {}, removedUncommitted: 0, unwrittenPartitions: [] };
  const owned = new Set<number>();
  let rebalancing = false;
  const sink = new LakeSink<DlqRow>(
    writer,
    async (partition, offset) => {
      await consumer.commitOffsets([{ topic: dlqTopic, partition, offset: String(offset) }]);
    },
    limits,
    (partition) => !rebalancing && owned.has(partition),
  );
  let exclusive: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(task);
    exclusive = run.catch(() => {});
    return run;
  };
  let failures = 0;
  const flush = async (force = false) => {
    try {
      for (const outcome of await sink.flushDue(Date.now(), force)) {
        summary.rows += outcome.rows;
        summary.files += outcome.files.length;
      }
      failures = 0;
    } catch (error) {
      if (error instanceof OwnershipLostError) return log(`DLQ sink: ${error.message}`, "warn");
      if (!(error instanceof FlushError) || force) throw error;
      const pauseMs = Math.min(30_000, 500 * 2 ** failures++);
      log(`DLQ sink: ${error.message}; retrying from offset ${error.resumeOffset} in ${pauseMs / 1000} s`, "error");
      consumer.seek({ topic: dlqTopic, partition: error.partition, offset: String(error.resumeOffset) });
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };

  consumer.on(consumer.events.REBALANCING, () => {
    rebalancing = true;
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = new Set(payload.memberAssignment[dlqTopic] ?? []);
    void serially(async () => {
      await sink.dropAll();
      owned.clear();
      rebalancing = false;
      const committed = await committedDlqOffsets(admin, market);
      for (const partition of assigned) {
        owned.add(partition);
        const offset = committed.get(partition);
        const removed = await removeUncommitted(dlqRoot, partition, offset ?? 0n, DLQ_FILES);
        summary.removedUncommitted += removed.length;
        if (removed.length > 0) log(`DLQ sink: removed ${removed.length} uncommitted files of partition ${partition}`);
        // From the offset the clean-up went by, not kafkajs's own from before the join (see consumer.ts).
        if (offset !== undefined) consumer.seek({ topic: dlqTopic, partition, offset: String(offset) });
      }
    });
  });

  await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, heartbeat, resolveOffset, isStale }) => {
      await serially(async () => {
        if (!owned.has(batch.partition)) throw new Error(`Got a DLQ batch of unassigned partition ${batch.partition}`);
        const now = Date.now();
        for (const message of batch.messages) {
          if (isStale()) return;
          const offset = BigInt(message.offset);
          const stage = message.headers?.stage;
          const row = decodeDlqRecord({
            value: message.value?.toString() ?? null,
            stageHeader: (Array.isArray(stage) ? stage[0] : stage)?.toString(),
            timestampMs: Number(message.timestamp),
            kafkaPartition: batch.partition,
            kafkaOffset: offset,
          });
          sink.add(batch.partition, offset, row, now);
          summary.reasons[row.reason] = (summary.reasons[row.reason] ?? 0) + 1;
          resolveOffset(message.offset);
        }
        await flush();
      });
      await heartbeat();
    },
  });
  const ageTimer = setInterval(() => void serially(() => flush()), 250);

  return {
    async stop() {
      clearInterval(ageTimer);
      consumer.pause([{ topic: dlqTopic }]);
      await serially(() => flush(true)).catch((error) => {
        if (!(error instanceof FlushError)) throw error;
        summary.unwrittenPartitions.push(error.partition);
        log(`DLQ sink: ${error.message}; nothing was committed, so a restart writes these records again`, "error");
      });
      await consumer.disconnect();
      writer.close();
      return summary;
    },
  };
}
