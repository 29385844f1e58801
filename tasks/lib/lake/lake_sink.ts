/**
 * Buffers decoded rows per Kafka partition and turns them into committed lake files, the way the S3 sink does:
 * write files (temporary name, fsync, rename), and only then commit offset = last + 1.
 *
 * A crash between rename and commit leaves files whose first offset is at or beyond the committed offset; they are
 * removed when the partition is assigned again ({@link removeUncommitted}), before anything is rewritten, so the
 * lake never holds a record twice, whatever the new file boundaries.
 */
import { join } from "node:path";
import type { LakeRow } from "./decode.ts";
import { parseLakeFileName } from "./partition.ts";

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
}

interface PartitionBuffer<Row> {
  rows: Row[];
  /** Offset of the first record handled since the last commit: where to resume if writing fails. */
  firstOffset: bigint | undefined;
  /** Offset of the last record handled (written or sent to the DLQ), or undefined when none since the commit. */
  lastOffset: bigint | undefined;
  firstArrivedMs: number;
}

/**
 * Writing a partition's files failed (disk full, folder not writable, …). Nothing was committed and the buffer is
 * gone: the caller rewinds the partition to `resumeOffset` and tries again after a pause.
 */
export class FlushError extends Error {
  constructor(readonly partition: number, readonly resumeOffset: bigint, options: ErrorOptions) {
    super(`Cannot write the lake files of partition ${partition}: ${(options.cause as Error)?.message}`, options);
    this.name = "FlushError";
  }
}

/**
 * The partition moved to another consumer while its buffer was being written or committed. Nothing more of it is
 * published here; the new owner removes what was not committed and resumes from the committed offset.
 */
export class OwnershipLostError extends Error {
  constructor(readonly partition: number, options: ErrorOptions) {
    super(
      `Partition ${partition} moved to another consumer during a flush; its new owner resumes from the commit`,
      options,
    );
    this.name = "OwnershipLostError";
  }
}

/** What a flush did. */
export interface FlushOutcome {
  partition: number;
  rows: number;
  files: string[];
  committedOffset: bigint;
}

/**
 * Per-partition buffers in front of a {@link RowWriter}: trade rows by default.
 *
 * With `overlap`, a flush is started and left running while the caller goes on buffering (one at a time; the next
 * flush, due or forced, waits for it first), so a writer on another thread works while this one reads.
 */
export class LakeSink<Row extends { kafkaOffset: bigint } = LakeRow> {
  #buffers = new Map<number, PartitionBuffer<Row>>();
  #running: { partition: number; flush: Promise<FlushOutcome>; over: boolean } | undefined;

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
   * flushes that finished, including one left running by an earlier call.
   * @throws {FlushError} when a partition's files cannot be written; its buffer is dropped (the caller rewinds it)
   * and other partitions are not attempted.
   */
  async flushDue(nowMs: number, force = false): Promise<FlushOutcome[]> {
    // A flush that finished is reported now, a failed one above all: the caller rewinds its partition.
    const outcomes = this.#running?.over ? await this.#finishRunning() : [];
    for (const [partition, buffer] of this.#buffers) {
      if (buffer.lastOffset === undefined) continue;
      const due = shouldRotate(buffer.rows.length, nowMs - buffer.firstArrivedMs, this.limits) ||
        (buffer.rows.length === 0 && nowMs - buffer.firstArrivedMs >= this.limits.maxAgeMs);
      if (!force && !due) continue;
      outcomes.push(...await this.#finishRunning());
      const flush = this.#flush(partition, buffer, nowMs);
      if (this.options.overlap && !force) {
        const running = { partition, flush, over: false };
        const over = () => void (running.over = true); // reported by the call that finishes it
        flush.then(over, over);
        this.#running = running;
      } else {
        outcomes.push(await this.#outcomeOf(partition, flush));
      }
    }
    if (force) outcomes.push(...await this.#finishRunning());
    return outcomes;
  }

  /** Forgets every buffer, once a flush left running is over: after a rebalance each partition is read again. */
  async dropAll(): Promise<void> {
    await this.#running?.flush.catch(() => {});
    this.#running = undefined;
    this.#buffers.clear();
  }

  async #finishRunning(): Promise<FlushOutcome[]> {
    const running = this.#running;
    if (running === undefined) return [];
    this.#running = undefined;
    return [await this.#outcomeOf(running.partition, running.flush)];
  }

  // A failed flush drops what the partition buffered since it began, when the caller learns of it and rewinds: those
  // records are read again from the resume offset. (Dropping them earlier would keep later ones buffered in front.)
  async #outcomeOf(partition: number, flush: Promise<FlushOutcome>): Promise<FlushOutcome> {
    try {
      return await flush;
    } catch (error) {
      this.#buffers.delete(partition);
      throw error;
    }
  }

  // The buffer is replaced before anything is awaited, so records keep arriving into a fresh one meanwhile.
  async #flush(partition: number, buffer: PartitionBuffer<Row>, nowMs: number): Promise<FlushOutcome> {
    const rows = buffer.rows;
    const lastOffset = buffer.lastOffset!;
    this.#buffers.set(partition, { rows: [], firstOffset: undefined, lastOffset: undefined, firstArrivedMs: nowMs });
    let written: Written = { files: [], rows: 0 };
    const owns = () => this.owns(partition);
    try {
      if (rows.length > 0) written = await this.writer.write(rows, partition, rows[0]!.kafkaOffset, nowMs, owns);
    } catch (error) {
      // The new owner's clean-up may have removed a temporary file under us: not a fault of the disk.
      if (!owns()) throw new OwnershipLostError(partition, { cause: error });
      throw new FlushError(partition, buffer.firstOffset!, { cause: error });
    }
    const next = lastOffset + 1n;
    try {
      await this.commit(partition, next);
    } catch (error) {
      // Refused commits mean the group moved on (a rebalance this consumer learnt of too late).
      throw new OwnershipLostError(partition, { cause: error });
    }
    return { partition, rows: written.rows, files: written.files, committedOffset: next };
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
