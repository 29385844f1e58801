/**
 * Notices a consumer that stopped reading while its partitions still hold records.
 *
 * kafkajs can stay stuck after the broker that coordinated its group dies: it rejoins with a new member id, yet one
 * of its partitions is never fetched again, with no error raised to the caller. Nothing is lost (that partition's
 * offsets stay uncommitted), but nothing moves either. The consumer asks this watch, every few seconds, whether any
 * partition it owns has records beyond what it read and has not moved for `stallMs`; if so it starts a new kafkajs
 * consumer, which rejoins and reads again from the committed offsets.
 */

/** A partition that holds unread records and has not moved for too long. */
export interface Stall {
  partition: number;
  /** The next offset this consumer would read (undefined: it has read nothing of this partition yet). */
  nextOffset: bigint | undefined;
  /** The partition's high watermark: the offset after its last record. */
  highWatermark: bigint;
  /** How long the partition has not moved, in milliseconds. */
  stuckMs: number;
}

export class StallWatch {
  readonly #stallMs: number;
  /** Per partition: the next offset to read and when it last moved (or was first owned). */
  readonly #positions = new Map<number, { nextOffset: bigint | undefined; sinceMs: number }>();

  constructor(stallMs: number) {
    this.#stallMs = stallMs;
  }

  /** A new assignment (or a new consumer): every owned partition starts its clock again. */
  assigned(partitions: Iterable<number>, nowMs: number): void {
    this.#positions.clear();
    for (const partition of partitions) this.#positions.set(partition, { nextOffset: undefined, sinceMs: nowMs });
  }

  /** Records of `partition` were read up to `nextOffset` (exclusive), or it was rewound to read from there again. */
  read(partition: number, nextOffset: bigint, nowMs: number): void {
    this.#positions.set(partition, { nextOffset, sinceMs: nowMs });
  }

  /**
   * The first owned partition that has records beyond what was read and has not moved for `stallMs`; undefined when
   * every partition is reading or caught up. `committed` stands in for a partition read from nothing yet.
   */
  stalled(highWatermarks: Map<number, bigint>, committed: Map<number, bigint>, nowMs: number): Stall | undefined {
    for (const [partition, { nextOffset, sinceMs }] of this.#positions) {
      const highWatermark = highWatermarks.get(partition);
      if (highWatermark === undefined) continue;
      const from = nextOffset ?? committed.get(partition) ?? 0n;
      const stuckMs = nowMs - sinceMs;
      if (highWatermark > from && stuckMs >= this.#stallMs) {
        return { partition, nextOffset, highWatermark, stuckMs };
      }
      // Caught up: being idle is not being stuck, so the clock restarts.
      if (highWatermark <= from) this.#positions.set(partition, { nextOffset, sinceMs: nowMs });
    }
    return undefined;
  }
}
