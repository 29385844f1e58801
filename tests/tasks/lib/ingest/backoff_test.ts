import assert from "node:assert/strict";
import { backoffDelayMs, ConnectionBudget } from "../../../../tasks/lib/ingest/backoff.ts";

Deno.test("backoffDelayMs() doubles its ceiling per attempt up to the cap", () => {
  const top = () => 0.999999;
  assert.deepEqual([0, 1, 2, 3].map((a) => backoffDelayMs(a, top, { baseMs: 100, capMs: 1000 })), [99, 199, 399, 799]);
  assert.equal(backoffDelayMs(10, top, { baseMs: 100, capMs: 1000 }), 999);
  assert.equal(backoffDelayMs(10_000, top), 29_999, "huge attempt counts stay at the cap");
  assert.equal(backoffDelayMs(3, () => 0), 0, "full jitter reaches zero");
});

Deno.test("ConnectionBudget waits once the window is full, and frees up as attempts age", () => {
  const budget = new ConnectionBudget(3, 1000);
  for (const at of [0, 100, 200]) {
    assert.equal(budget.waitMs(at), 0);
    budget.record(at);
  }
  assert.equal(budget.waitMs(300), 700);
  assert.equal(budget.waitMs(999), 1);
  assert.equal(budget.waitMs(1000), 0);
});
