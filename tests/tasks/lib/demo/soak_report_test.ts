import assert from "node:assert/strict";
import {
  formatSoak,
  growthPercent,
  memoryOf,
  soakHeld,
  type SoakReport,
} from "../../../../tasks/lib/demo/soak_report.ts";

const report = (endKib: number, missing = 0): SoakReport => ({
  minutes: 15,
  tradesPerSecond: 2000,
  trades: 1_800_000,
  missing,
  doubled: 0,
  refreshes: { ok: 15, failed: 0, maxSeconds: 2.34 },
  maxLagMessages: 2400,
  endToEndP99Ms: 1180.4,
  memory: [{ component: "consumer", startKib: 200 * 1024, endKib, peakKib: Math.max(endKib, 210 * 1024) }],
});

Deno.test("growthPercent() and soakHeld() allow under 10 % growth and nothing lost", () => {
  const withExchange = report(210 * 1024);
  withExchange.memory.push({ component: "exchange", startKib: 100, endKib: 500, peakKib: 500 });
  assert.equal(soakHeld(withExchange), true, "the local exchange is reported, not bounded");
  assert.equal(growthPercent(report(210 * 1024).memory[0]!), 5);
  assert.equal(soakHeld(report(219 * 1024)), true);
  assert.equal(soakHeld(report(220 * 1024)), false, "10 % is too much");
  assert.equal(soakHeld(report(200 * 1024, 1)), false, "a lost trade fails the soak");
});

Deno.test("formatSoak() says per component how memory moved, and whether the soak held", () => {
  assert.equal(
    formatSoak(report(230 * 1024)),
    [
      "soak: 15 min at 2000 trades/s: 1800000 trades, 0 missing, 0 doubled; refreshes 15 ok, 0 failed, slowest 2.3 s; " +
      "max consumer lag 2400 messages; p99 trade → lake 1180 ms",
      "  consumer  RSS 200 → 230 MiB (+15.0 %, peak 230 MiB)  over 10 %",
      "soak: did NOT hold: nothing lost or doubled, producer and consumer memory growth under 10 %",
    ].join("\n"),
  );
});

Deno.test("memoryOf() compares the mean of the first and last windows, so a GC swing is not growth", () => {
  // RSS rising and falling between collections around a flat level: one sample at each end would say +20 %.
  const swinging = [200, 240, 210, 230, 200, 220, 240, 205, 235, 240];
  const flat = memoryOf("consumer", swinging, 4);
  assert.deepEqual(flat, { component: "consumer", startKib: 220, endKib: 230, peakKib: 240 });
  assert.ok(growthPercent(flat) < 10);
  // A leak still shows: a steady climb.
  const climbing = Array.from({ length: 12 }, (_, i) => 200 + i * 10);
  assert.ok(growthPercent(memoryOf("producer", climbing, 3)) > 40);
  // Short runs: the window shrinks to half the samples; one sample compares with itself.
  assert.deepEqual(memoryOf("p", [100, 120], 6), { component: "p", startKib: 100, endKib: 120, peakKib: 120 });
  assert.deepEqual(memoryOf("p", [100], 6), { component: "p", startKib: 100, endKib: 100, peakKib: 100 });
  assert.deepEqual(memoryOf("p", [], 6), { component: "p", startKib: 0, endKib: 0, peakKib: 0 });
});
