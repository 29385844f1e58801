import assert from "node:assert/strict";
import { WeightLimiter } from "../../../../tasks/lib/exchange/weight.ts";

const MINUTE = 1_700_000_040_000; // a minute boundary

Deno.test("WeightLimiter refuses a request that would pass the limit, without charging it", () => {
  const limiter = new WeightLimiter(50);
  assert.deepEqual(limiter.take(25, MINUTE), { allowed: true, used: 25, retryAfterSeconds: 60 });
  assert.deepEqual(limiter.take(25, MINUTE + 1000), { allowed: true, used: 50, retryAfterSeconds: 59 });
  assert.deepEqual(limiter.take(2, MINUTE + 30_500), { allowed: false, used: 50, retryAfterSeconds: 30 });
});

Deno.test("WeightLimiter resets on the calendar minute", () => {
  const limiter = new WeightLimiter(25);
  limiter.take(25, MINUTE + 59_999);
  assert.equal(limiter.take(25, MINUTE + 59_999).retryAfterSeconds, 1);
  assert.deepEqual(limiter.take(25, MINUTE + 60_000), { allowed: true, used: 25, retryAfterSeconds: 60 });
});
