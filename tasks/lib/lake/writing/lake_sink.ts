/**
 * Buffers decoded rows per Kafka partition and turns them into committed lake files, the way the S3 sink does:
 * write files (temporary name, fsync, rename), and only then commit offset = last + 1.
 *
 * A crash between rename and commit leaves files whose first offset is at or beyond the committed offset; they are
 * removed when the partition is assigned again ({@link removeUncommitted}), before anything is rewritten, so the
 * lake never holds a record twice, whatever the new file boundaries.
 */
import { join } from "node:path";
import type { LakeRow } from "../decoding/lake_row.ts";
import { parseLakeFileName } from "../storage/partition.ts";

/** When a partition's buffer becomes files. */
export interface RotationLimits {
  /** Default: 100,000 rows. */
  maxRows: number;
  /** Default: 1,000 ms after the first buffered record arrived. */
  maxAgeMs: number;
}

/** Whether a buffer of `rows` rows, the oldest `ageMs` old, should be written now. */
export function shouldRotate(rows: number, ageMs: number, limits: RotationLimits): boolean {
  return rows >= limits.maxRows || (rows > 0 && ageMs >= limits.maxAgeMs);
}

/** What one flush made visible. */
export interface Written {
  files: string[];
  /** Rows in those files (records sent to the DLQ instead are not rows). */
  rows: number;
}

/** A flush's files written under temporary names, not visible yet. */
export interface PreparedFlush {
  /** Makes the files visible (`mayPublish` is asked just before each) and says what is now visible. */
  publish(mayPublish: () => boolean): Promise<Written>;
  /** Removes the files. */
  discard(): Promise<void>;
}

/**
 * Writes one flush of a Kafka partition's rows as files and says what is now visible (the lake worker for trades, a
 * `DlqWriter` for dead letters). `mayPublish` is asked just before each file becomes visible.
 */
export interface RowWriter<Row> {
  write(
    rows: Row[],
    kafkaPartition: number,
    firstOffset: bigint,
    writtenAtMs: number,
    mayPublish: () => boolean,
  ): Promise<Written>;
  /** `write` in two halves, so a sink with overlap can prepare a flush while the one before it is published. */
  prepare?(rows: Row[], kafkaPartition: number, firstOffset: bigint, writtenAtMs: number): Promise<PreparedFlush>;
}

interface PartitionBuffer<Row> {
  rows: Row[];
  /** Offset of the first record handled since the last commit: where to resume if writing fails. */
  firstOffset: bigint | undefined;
  /** Offset of the last record handled (written or sent to the DLQ), or undefined when none since the commit. */
  lastOffset: bigint | undefined;
  firstArrivedMs: number;
}

/** A partition to read again from `resumeOffset`: nothing from there on was committed, and its buffer is gone. */
export interface Rewind {
  partition: number;
  resumeOffset: bigint;
}

/**
 * Writing a partition's files failed (disk full, folder not writable, …). Nothing was committed and the buffer is
 * gone: the caller rewinds the partition to `resumeOffset` and tries again after a pause. `rewinds` adds any
 * partition whose flush was started after this one and abandoned with it (earliest offset first).
 */
export class FlushError extends Error {
  readonly rewinds: Rewind[];

  constructor(readonly partition: number, readonly resumeOffset: bigint, options: ErrorOptions) {
    super(`Cannot write the lake files of partition ${partition}: ${(options.cause as Error)?.message}`, options);
    this.name = "FlushError";
    this.rewinds = [{ partition, resumeOffset }];
  }
}

/**
 * The partition moved to another consumer while its buffer was being written or committed. Nothing more of it is
 * published here; the new owner removes what was not committed and resumes from the committed offset. `rewinds` are
 * the partitions whose flushes were started after this one and abandoned with it.
 */
export class OwnershipLostError extends Error {
  readonly rewinds: Rewind[] = [];

  constructor(readonly partition: number, options: ErrorOptions) {
    super(
      `Partition ${partition} moved to another consumer during a flush; its new owner resumes from the commit`,
      options,
    );
    this.name = "OwnershipLostError";
  }
}

/** A flush started after one that failed: its files were never published. */
class AbandonedFlushError extends Error {
  constructor(readonly partition: number) {
    super(`A flush of partition ${partition} was abandoned because an earlier flush failed`);
    this.name = "AbandonedFlushError";
  }
}

/** What a flush did. */
export interface FlushOutcome {
  partition: number;
  rows: number;
  files: string[];
  committedOffset: bigint;
  /** From the start of the flush to its commit: decoding, writing, fsyncing, renaming, committing. */
  seconds: number;
}

/** A flush started and not yet reported. */
interface RunningFlush {
  partition: number;
  resumeOffset: bigint;
  flush: Promise<FlushOutcome>;
  over: boolean;
}

// With overlap: one flush being published and committed while the next is prepared (decoded and written).
const MAX_RUNNING = 2;

/**
 * Per-partition buffers in front of a {@link RowWriter}: trade rows by default.
 *
 * With `overlap`, flushes are started and left running while the caller goes on buffering: up to two, the later
 * one prepared (by a writer on another thread) while the earlier is published. Flushes are published and committed
 * strictly in the order they started, each only once every earlier one succeeded; a failure abandons every flush
 * started after it, and the caller rewinds all their partitions.
 */
export class LakeSink<Row extends { kafkaOffset: bigint } = LakeRow> {
  #buffers = new Map<number, PartitionBuffer<Row>>();
  #running: RunningFlush[] = [];

  constructor(
    private readonly writer: RowWriter<Row>,
    private readonly commit: (partition: number, nextOffset: bigint) => Promise<void>,
    private readonly limits: RotationLimits,
    /** Whether this consumer still owns `partition`: asked before each file is published. */
    private readonly owns: (partition: number) => boolean = () => true,
    private readonly options: { overlap?: boolean } = {},
  ) {}

  /** Rows waiting in all buffers. */
  get buffered(): number {
    let rows = 0;
    for (const buffer of this.#buffers.values()) rows += buffer.rows.length;
    return rows;
  }

  /** Records a handled record: `row` to write, or null when it went to the DLQ (its offset still counts). */
  add(partition: number, offset: bigint, row: Row | null, nowMs: number): void {
    let buffer = this.#buffers.get(partition);
    if (!buffer) {
      buffer = { rows: [], firstOffset: undefined, lastOffset: undefined, firstArrivedMs: nowMs };
      this.#buffers.set(partition, buffer);
    }
    if (buffer.lastOffset === undefined) {
      buffer.firstArrivedMs = nowMs;
      buffer.firstOffset = offset;
    }
    if (row) buffer.rows.push(row);
    buffer.lastOffset = offset;
  }

  /**
   * Writes and commits every partition whose buffer is due; `force` writes all and waits (shutdown). Returns the
   * flushes that finished, including ones left running by earlier calls.
   * @throws {FlushError} when a partition's files cannot be written; its buffer is dropped (the caller rewinds it,
   * and every partition in `rewinds`) and other partitions are not attempted.
   */
  async flushDue(nowMs: number, force = false): Promise<FlushOutcome[]> {
    const outcomes: FlushOutcome[] = [];
    // Flushes that finished are reported now, a failed one above all: the caller rewinds its partition.
    while (this.#running[0]?.over) outcomes.push(await this.#finishOldest());
    const maxRunning = this.options.overlap && !force ? MAX_RUNNING : 0;
    for (const [partition, buffer] of this.#buffers) {
      if (buffer.lastOffset === undefined) continue;
      const due = shouldRotate(buffer.rows.length, nowMs - buffer.firstArrivedMs, this.limits) ||
        (buffer.rows.length === 0 && nowMs - buffer.firstArrivedMs >= this.limits.maxAgeMs);
      if (!force && !due) continue;
      while (this.#running.length > 0 && this.#running.length >= maxRunning) {
        outcomes.push(await this.#finishOldest());
      }
      this.#running.push(this.#start(partition, buffer, nowMs));
      while (this.#running.length > maxRunning) outcomes.push(await this.#finishOldest());
    }
    if (force) { while (this.#running.length > 0) outcomes.push(await this.#finishOldest()); }
    return outcomes;
  }

  /** Forgets every buffer, once the flushes under way are over: after a rebalance each partition is read again. */
  async dropAll(): Promise<void> {
    const running = this.#running.splice(0);
    for (const { flush } of running) await flush.catch(() => {});
    this.#buffers.clear();
  }

  // A failed flush drops what its partition buffered since it began, when the caller learns of it and rewinds:
  // those records are read again from the resume offset (dropping them earlier would keep later ones buffered in
  // front). So do the flushes started after it, all abandoned.
  async #finishOldest(): Promise<FlushOutcome> {
    const oldest = this.#running.shift()!;
    try {
      return await oldest.flush;
    } catch (error) {
      const abandoned = this.#running.splice(0);
      for (const { flush } of abandoned) await flush.catch(() => {});
      const rewinds = error instanceof FlushError || error instanceof OwnershipLostError ? error.rewinds : [];
      for (const { partition, resumeOffset } of abandoned) {
        // A partition's earliest offset wins: seeking it to a later one would skip records.
        if (partition !== oldest.partition && !rewinds.some((r) => r.partition === partition)) {
          rewinds.push({ partition, resumeOffset });
        }
      }
      for (const { partition } of [oldest, ...abandoned]) this.#buffers.delete(partition);
      throw error;
    }
  }

  // The buffer is replaced before anything is awaited, so records keep arriving into a fresh one meanwhile. The
  // files are prepared at once, and published and committed once the flush started before this one succeeded.
  #start(partition: number, buffer: PartitionBuffer<Row>, nowMs: number): RunningFlush {
    const rows = buffer.rows;
    const lastOffset = buffer.lastOffset!;
    const resumeOffset = buffer.firstOffset!;
    this.#buffers.set(partition, { rows: [], firstOffset: undefined, lastOffset: undefined, firstArrivedMs: nowMs });
    const earlier = this.#running.at(-1)?.flush;
    const owns = () => this.owns(partition);
    const firstOffset = rows[0]?.kafkaOffset;
    const prepared = firstOffset === undefined ? undefined : this.writer.prepare?.(rows, partition, firstOffset, nowMs);
    prepared?.catch(() => {}); // awaited below

    const started = performance.now();
    const flush = (async (): Promise<FlushOutcome> => {
      const earlierSucceeded = earlier === undefined || await earlier.then(() => true, () => false);
      let written: Written = { files: [], rows: 0 };
      try {
        if (prepared !== undefined) {
          const ready = await prepared;
          if (!earlierSucceeded) {
            await ready.discard();
            throw new AbandonedFlushError(partition);
          }
          written = await ready.publish(owns);
        } else if (!earlierSucceeded) {
          throw new AbandonedFlushError(partition);
        } else if (firstOffset !== undefined) {
          written = await this.writer.write(rows, partition, firstOffset, nowMs, owns);
        }
      } catch (error) {
        if (error instanceof AbandonedFlushError || !earlierSucceeded) throw error;
        // The new owner's clean-up may have removed a temporary file under us: not a fault of the disk.
        if (!owns()) throw new OwnershipLostError(partition, { cause: error });
        throw new FlushError(partition, resumeOffset, { cause: error });
      }
      const next = lastOffset + 1n;
      try {
        await this.commit(partition, next);
      } catch (error) {
        // Refused commits mean the group moved on (a rebalance this consumer learnt of too late).
        throw new OwnershipLostError(partition, { cause: error });
      }
      const seconds = (performance.now() - started) / 1000;
      return { partition, rows: written.rows, files: written.files, committedOffset: next, seconds };
    })();
    const running: RunningFlush = { partition, resumeOffset, flush, over: false };
    const over = () => void (running.over = true); // reported by the call that finishes it
    flush.then(over, over);
    return running;
  }
}

/** How a sink's files are named: `part-…` for trades, `dlq-…` for dead letters. */
export interface FileNaming {
  parse(name: string): { kafkaPartition: number; firstOffset: bigint } | undefined;
  /** The start of the temporary name of a file of Kafka `partition` being written (ends in `.tmp`). */
  temporaryPrefix(partition: number): string;
}

/** The trade files' names: `part-<partition>-<offset>.parquet`, written as `.part-….parquet.tmp`. */
export const TRADE_FILES: FileNaming = {
  parse: parseLakeFileName,
  temporaryPrefix: (partition) => `.part-${partition}-`,
};

/**
 * Deletes files under `dir` of Kafka `partition` (named as `naming` says, trade files by default) whose first
 * offset is at or beyond `committedOffset` (written, never committed), and temporary files left by a crash. Files
 * named otherwise, such as another sink's, are left alone. Returns the removed paths.
 */
export async function removeUncommitted(
  dir: string,
  partition: number,
  committedOffset: bigint,
  naming: FileNaming = TRADE_FILES,
): Promise<string[]> {
  const removed: string[] = [];
  for await (const path of walkFiles(dir)) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const parsed = naming.parse(name);
    const leftover = parsed
      ? parsed.kafkaPartition === partition && parsed.firstOffset >= committedOffset
      : name.startsWith(naming.temporaryPrefix(partition)) && name.endsWith(".tmp");
    if (leftover) {
      await Deno.remove(path);
      removed.push(path);
    }
  }
  return removed;
}

async function* walkFiles(dir: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walkFiles(path);
    else if (entry.isFile) yield path;
  }
}
