import assert from "node:assert/strict";
import { restartDelay } from "../../../../tasks/lib/supervisor/backoff.ts";

Deno.test("restartDelay() doubles from 1 s up to 60 s while a component keeps crashing", () => {
  const delays: number[] = [];
  let crashesInRow = 0;
  for (let i = 0; i < 9; i++) {
    const next = restartDelay(crashesInRow, 2000);
    delays.push(next.delayMs);
    crashesInRow = next.crashesInRow;
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
});

Deno.test("restartDelay() starts again from 1 s after a minute of stable running", () => {
  assert.deepEqual(restartDelay(6, 59_999), { delayMs: 60_000, crashesInRow: 7 });
  assert.deepEqual(restartDelay(6, 60_000), { delayMs: 1000, crashesInRow: 1 });
});
