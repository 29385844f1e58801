import assert from "node:assert/strict";
import { StallWatch } from "../../../../tasks/lib/kafka/stall_watch.ts";

const offsets = (entries: [number, bigint][]) => new Map(entries);

Deno.test("a partition with unread records that has not moved for stallMs is stalled", () => {
  const watch = new StallWatch(45_000);
  watch.assigned([0, 1], 0);
  watch.read(0, 100n, 1000);
  watch.read(1, 50n, 1000);
  const high = offsets([[0, 100n], [1, 80n]]);
  assert.deepEqual(watch.stalled(high, new Map(), 40_000), undefined);
  assert.deepEqual(watch.stalled(high, new Map(), 46_000), {
    partition: 1,
    nextOffset: 50n,
    highWatermark: 80n,
    stuckMs: 45_000,
  });
});

Deno.test("a caught-up partition is idle, not stalled, and its clock restarts", () => {
  const watch = new StallWatch(45_000);
  watch.assigned([0], 0);
  watch.read(0, 100n, 0);
  assert.deepEqual(watch.stalled(offsets([[0, 100n]]), new Map(), 60_000), undefined);
  // A record arrives after a long quiet spell: the partition has stallMs to read it.
  assert.deepEqual(watch.stalled(offsets([[0, 101n]]), new Map(), 61_000), undefined);
  assert.deepEqual(watch.stalled(offsets([[0, 101n]]), new Map(), 106_000)?.partition, 0);
});

Deno.test("a partition never read is measured from its committed offset", () => {
  const watch = new StallWatch(10_000);
  watch.assigned([2], 0);
  assert.deepEqual(watch.stalled(offsets([[2, 7n]]), offsets([[2, 7n]]), 20_000), undefined);
  assert.deepEqual(watch.stalled(offsets([[2, 9n]]), offsets([[2, 7n]]), 31_000)?.nextOffset, undefined);
  assert.deepEqual(watch.stalled(offsets([[2, 9n]]), new Map(), 31_000)?.highWatermark, 9n);
});

Deno.test("a new assignment or a rewind restarts the clock; partitions not owned are not watched", () => {
  const watch = new StallWatch(10_000);
  watch.assigned([0], 0);
  watch.read(0, 5n, 0);
  watch.read(0, 3n, 9000); // rewound after a failed write: read again from 3
  assert.deepEqual(watch.stalled(offsets([[0, 9n]]), new Map(), 15_000), undefined);
  watch.assigned([1], 15_000);
  assert.deepEqual(watch.stalled(offsets([[0, 9n], [1, 0n]]), new Map(), 40_000), undefined);
});
