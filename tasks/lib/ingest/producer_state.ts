/**
 * The producer's durable memory, and how it is made exact again after a crash.
 *
 * The state file holds the gap tracker as of a set of Kafka offsets (saved while no batch is in flight, so the
 * two agree). On start, every trade Kafka holds beyond those offsets is replayed into the tracker: what was
 * acknowledged after the last save is known again, and what was in flight at the crash shows up as a gap that
 * backfill heals. Nothing is published twice and nothing is skipped.
 */
import { PRODUCER_RECOVERY_GROUP_PREFIX } from "../kafka/acls.ts";
import { ensureGroupAccess } from "../kafka/failures.ts";
import { dirname } from "node:path";
import type { Kafka } from "kafkajs";
import { TaskError } from "../cli.ts";
import { decodeRecord } from "../lake/decoding/decode.ts";
import type { Market } from "../market.ts";
import type { TradeEnvelope } from "./envelope.ts";
import type { TrackerSnapshot } from "./gap_tracker.ts";

/** The state file's content. */
export interface ProducerState {
  version: 1;
  savedAtMs: number;
  topic: string;
  /** Next offset per partition of `topic` that the tracker already accounts for. */
  offsets: Record<string, string>;
  tracker: TrackerSnapshot;
}

/** The state to save: `tracker` as of the topic's current `ends` (next offset per partition). */
export function stateAt(
  topic: string,
  ends: { partition: number; high: string }[],
  tracker: TrackerSnapshot,
): ProducerState {
  const offsets = Object.fromEntries(ends.map((end) => [String(end.partition), end.high]));
  return { version: 1, savedAtMs: Date.now(), topic, offsets, tracker };
}

/** Reads the state file; undefined when there is none yet. */
export async function loadState(path: string): Promise<ProducerState | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const state = JSON.parse(text) as ProducerState;
    if (state.version !== 1 || typeof state.offsets !== "object" || typeof state.tracker?.symbols !== "object") {
      throw new Error("unexpected shape");
    }
    return state;
  } catch (error) {
    throw new TaskError(
      `Cannot read the producer state ${path} (${(error as Error).message}): move it away to start from the topic`,
    );
  }
}

/** Writes the state file atomically: a crash leaves either the old or the new file, never half of one. */
export async function saveState(path: string, state: ProducerState): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  const file = await Deno.open(temporary, { write: true, create: true, truncate: true });
  try {
    await file.write(new TextEncoder().encode(JSON.stringify(state)));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(temporary, path);
}

/** How long recovery may take before the producer gives up starting. */
const REPLAY_TIMEOUT_MS = 120_000;

/** How far back to read when there is no state file at all (per partition). */
export const COLD_START_SCAN = 1_000_000;

/**
 * Replays every trade envelope in `topic` from `offsets` (or, without them, the last {@link COLD_START_SCAN}
 * messages of each partition) to the current end, and returns the end offsets reached.
 *
 * Only records the consumer takes into the lake count: the topic may hold records no producer of ours wrote (a
 * tombstone, bad JSON, an unknown envelope version, a trade id beyond 2^53), which the consumer sends to the DLQ.
 * They must neither stop the replay nor reach the gap tracker, where a foreign id would pass for a trade we hold.
 */
export async function replayTopicTail(
  kafka: Kafka,
  topic: string,
  offsets: Record<string, string> | undefined,
  apply: (envelope: TradeEnvelope) => void,
  /** The market whose trades `topic` holds: records of another market are not ours to count. Default: spot. */
  market: Market = "spot",
  /** On a cluster with ACLs: check first that the principal may use its recovery group (one line if not). */
  secure = false,
): Promise<{ offsets: Record<string, string>; replayed: number }> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const starts = new Map<number, bigint>();
  const endOffsets: Record<string, string> = {};
  for (const end of ends) {
    endOffsets[end.partition] = end.high;
    const high = BigInt(end.high);
    const low = BigInt(end.low);
    const saved = offsets?.[end.partition];
    let start = saved !== undefined ? BigInt(saved) : high - BigInt(COLD_START_SCAN);
    if (start < low) start = low;
    if (start < high) starts.set(end.partition, start);
  }
  if (starts.size === 0) return { offsets: endOffsets, replayed: 0 };

  const groupId = `${PRODUCER_RECOVERY_GROUP_PREFIX}${crypto.randomUUID()}`;
  if (secure) {
    const probe = kafka.admin();
    await probe.connect();
    await ensureGroupAccess(probe, groupId, topic, "the producer's").finally(() => probe.disconnect());
  }
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  let replayed = 0;
  const remaining = new Set(starts.keys());
  let finished!: () => void;
  const done = new Promise<void>((resolve) => finished = resolve);
  // Seek on every join: kafkajs restarts a consumer that crashed (e.g. while the group coordinator was still
  // loading) with a fresh group, which forgets earlier seeks. Offsets below the start are skipped regardless.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, start] of starts) consumer.seek({ topic, partition, offset: String(start) });
  });
  const timeout = setTimeout(() => finished(), REPLAY_TIMEOUT_MS);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const start = starts.get(batch.partition);
        if (start === undefined || !remaining.has(batch.partition)) return;
        const end = BigInt(endOffsets[batch.partition] ?? "0");
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < start) continue;
          if (offset >= end) break;
          const value = message.value?.toString() ?? null;
          if ("row" in decodeRecord(value, batch.partition, offset, market)) {
            apply(JSON.parse(value!) as TradeEnvelope);
            replayed++;
          }
          if (offset + 1n >= end) remaining.delete(batch.partition);
        }
        if (remaining.size === 0) finished();
        await Promise.resolve();
      },
    });
    await done;
  } finally {
    clearTimeout(timeout);
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect().then(() => cleanup.deleteGroups([groupId])).catch(() => {}).finally(() =>
      cleanup.disconnect()
    );
  }
  if (remaining.size > 0) {
    throw new TaskError(
      `Cannot replay ${topic} partitions ${[...remaining].join(",")} within ${
        REPLAY_TIMEOUT_MS / 1000
      } s to recover the producer state`,
    );
  }
  return { offsets: endOffsets, replayed };
}
