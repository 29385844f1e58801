import assert from "node:assert/strict";
import { GapTracker } from "../../../../tasks/lib/ingest/gap_tracker.ts";

Deno.test("GapTracker.observe() publishes contiguous ids and drops repeats", () => {
  const tracker = new GapTracker();
  assert.equal(tracker.observe("BTCUSDT", 10, 0).decision, "publish");
  assert.equal(tracker.observe("BTCUSDT", 11, 0).decision, "publish");
  assert.equal(tracker.observe("BTCUSDT", 11, 0).decision, "duplicate");
  assert.equal(tracker.observe("BTCUSDT", 5, 0).decision, "duplicate");
  assert.equal(tracker.observe("ETHUSDT", 11, 0).decision, "publish", "symbols are independent");
  assert.deepEqual(tracker.stats(), { gapsFound: 0, idsHealed: 0, idsMissing: 0, openGaps: 0, gapsAbandoned: 0 });
});

Deno.test("GapTracker.observe() opens a gap on a jump and a late live trade fills it", () => {
  const tracker = new GapTracker();
  tracker.observe("BTCUSDT", 10, 0);
  assert.deepEqual(tracker.observe("BTCUSDT", 15, 99), {
    decision: "publish",
    opened: { from: 11, to: 14, firstSeenMs: 99 },
  });
  assert.equal(tracker.observe("BTCUSDT", 12, 100).decision, "publish", "out-of-order trade fills the gap");
  assert.equal(tracker.observe("BTCUSDT", 12, 100).decision, "duplicate");
  assert.deepEqual(tracker.gaps("BTCUSDT"), [{ from: 11, to: 11, firstSeenMs: 99 }, {
    from: 13,
    to: 14,
    firstSeenMs: 99,
  }]);
  assert.equal(tracker.stats().idsMissing, 3);
});

Deno.test("GapTracker.heal() publishes only ids still missing and counts them", () => {
  const tracker = new GapTracker();
  tracker.observe("BTCUSDT", 1, 0);
  tracker.observe("BTCUSDT", 5, 0);
  const decisions = [1, 2, 3, 4, 5, 6].map((id) => tracker.heal("BTCUSDT", id));
  assert.deepEqual(decisions, ["duplicate", "publish", "publish", "publish", "duplicate", "duplicate"]);
  assert.deepEqual(tracker.gaps("BTCUSDT"), []);
  assert.equal(tracker.stats().idsHealed, 3);
  assert.equal(tracker.heal("SOLUSDT", 1), "duplicate", "unknown symbol");
});

Deno.test("GapTracker.abandon() closes a gap but keeps it in the report", () => {
  const tracker = new GapTracker();
  tracker.observe("BTCUSDT", 1, 0);
  const { opened } = tracker.observe("BTCUSDT", 100, 0);
  tracker.abandon("BTCUSDT", opened!);
  assert.deepEqual(tracker.gaps("BTCUSDT"), []);
  assert.equal(tracker.stats().gapsAbandoned, 1);
  assert.equal(tracker.snapshot().gapsAbandoned.length, 1);
});

Deno.test("GapTracker.restore() continues exactly where the snapshot left off", () => {
  const tracker = new GapTracker();
  tracker.observe("BTCUSDT", 1, 0);
  tracker.observe("BTCUSDT", 4, 7);
  const restored = GapTracker.restore(JSON.parse(JSON.stringify(tracker.snapshot())));
  assert.equal(restored.observe("BTCUSDT", 4, 0).decision, "duplicate");
  assert.equal(restored.heal("BTCUSDT", 2), "publish");
  assert.equal(restored.observe("BTCUSDT", 5, 0).decision, "publish");
  assert.deepEqual(restored.gaps("BTCUSDT"), [{ from: 3, to: 3, firstSeenMs: 7 }]);
  assert.equal(restored.highest("BTCUSDT"), 5);
});

Deno.test("GapTracker.extend() turns ids the exchange reports beyond the highest into a gap", () => {
  const tracker = new GapTracker();
  assert.equal(tracker.extend("BTCUSDT", 50, 0), undefined, "nothing known yet: nothing promised");
  tracker.observe("BTCUSDT", 10, 0);
  assert.deepEqual(tracker.extend("BTCUSDT", 13, 5), { from: 11, to: 13, firstSeenMs: 5 });
  assert.equal(tracker.extend("BTCUSDT", 12, 6), undefined);
  assert.equal(tracker.observe("BTCUSDT", 11, 0).decision, "publish", "the stream may still deliver them");
  assert.equal(tracker.heal("BTCUSDT", 12), "publish");
  assert.equal(tracker.observe("BTCUSDT", 14, 0).decision, "publish");
  assert.deepEqual(tracker.gaps("BTCUSDT"), [{ from: 13, to: 13, firstSeenMs: 5 }]);
});

Deno.test("GapTracker.confirmAbsent() closes ids the source does not have, splitting gaps, and counts them", () => {
  const tracker = new GapTracker();
  tracker.observe("BTCUSDT", 1, 0);
  tracker.observe("BTCUSDT", 10, 3); // 2-9 missing
  assert.equal(tracker.confirmAbsent("BTCUSDT", 4, 5), 2);
  assert.deepEqual(tracker.gaps("BTCUSDT"), [{ from: 2, to: 3, firstSeenMs: 3 }, { from: 6, to: 9, firstSeenMs: 3 }]);
  assert.equal(tracker.confirmAbsent("BTCUSDT", 4, 5), 0, "already closed");
  assert.equal(tracker.confirmAbsent("BTCUSDT", 0, 100), 6);
  assert.deepEqual(tracker.gaps("BTCUSDT"), []);
  assert.equal(tracker.idsAbsent(), 8);
  assert.equal(tracker.stats().idsHealed, 0, "absent is not healed");
  assert.equal(tracker.stats().gapsAbandoned, 0, "nor abandoned");
  assert.equal(GapTracker.restore(JSON.parse(JSON.stringify(tracker.snapshot()))).idsAbsent(), 8);
  assert.equal("idsAbsent" in new GapTracker().snapshot(), false, "a spot state file stays as it was");
});
