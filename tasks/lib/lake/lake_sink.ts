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

/**
 * Writes one flush of a Kafka partition's rows as files and returns the files now visible (a `LakeWriter` for
 * trades, a `DlqWriter` for dead letters). `mayPublish` is asked just before each file becomes visible.
 */
export interface RowWriter<Row> {
  write(
    rows: Row[],
    kafkaPartition: number,
    firstOffset: bigint,
    writtenAtMs: number,
    mayPublish: () => boolean,
  ): Promise<string[]>;
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

/** Per-partition buffers in front of a {@link RowWriter}: trade rows by default. */
export class LakeSink<Row extends { kafkaOffset: bigint } = LakeRow> {
  #buffers = new Map<number, PartitionBuffer<Row>>();

  constructor(
    private readonly writer: RowWriter<Row>,
    private readonly commit: (partition: number, nextOffset: bigint) => Promise<void>,
    private readonly limits: RotationLimits,
    /** Whether this consumer still owns `partition`: asked before each file is published. */
    private readonly owns: (partition: number) => boolean = () => true,
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
   * Writes and commits every partition whose buffer is due; `force` writes all (shutdown).
   * @throws {FlushError} when a partition's files cannot be written; other partitions are not attempted.
   */
  async flushDue(nowMs: number, force = false): Promise<FlushOutcome[]> {
    const outcomes: FlushOutcome[] = [];
    for (const [partition, buffer] of this.#buffers) {
      if (buffer.lastOffset === undefined) continue;
      const due = shouldRotate(buffer.rows.length, nowMs - buffer.firstArrivedMs, this.limits) ||
        (buffer.rows.length === 0 && nowMs - buffer.firstArrivedMs >= this.limits.maxAgeMs);
      if (force || due) outcomes.push(await this.#flush(partition, buffer, nowMs));
    }
    return outcomes;
  }

  /** Forgets every buffer: after a rebalance each partition is read again from its committed offset. */
  dropAll(): void {
    this.#buffers.clear();
  }

  async #flush(partition: number, buffer: PartitionBuffer<Row>, nowMs: number): Promise<FlushOutcome> {
    const rows = buffer.rows;
    const lastOffset = buffer.lastOffset!;
    let files: string[];
    const owns = () => this.owns(partition);
    try {
      files = rows.length > 0 ? await this.writer.write(rows, partition, rows[0]!.kafkaOffset, nowMs, owns) : [];
    } catch (error) {
      this.#buffers.delete(partition);
      // The new owner's clean-up may have removed a temporary file under us: not a fault of the disk.
      if (!owns()) throw new OwnershipLostError(partition, { cause: error });
      throw new FlushError(partition, buffer.firstOffset!, { cause: error });
    }
    const next = lastOffset + 1n;
    try {
      await this.commit(partition, next);
    } catch (error) {
      // Refused commits mean the group moved on (a rebalance this consumer learnt of too late).
      this.#buffers.delete(partition);
      throw new OwnershipLostError(partition, { cause: error });
    }
    this.#buffers.set(partition, { rows: [], firstOffset: undefined, lastOffset: undefined, firstArrivedMs: nowMs });
    return { partition, rows: rows.length, files, committedOffset: next };
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
