import assert from "node:assert/strict";
import { sleep } from "../../../tasks/lib/sleep.ts";

Deno.test("sleep() waits, stops early on abort, and leaves no listener on the signal either way", async () => {
  const controller = new AbortController();
  let listeners = 0;
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => (listeners++, add(...args));
  signal.removeEventListener = (...args: Parameters<typeof remove>) => (listeners--, remove(...args));

  for (let i = 0; i < 50; i++) await sleep(1, signal);
  assert.equal(listeners, 0, "a sleep that ran out kept its abort listener");

  const started = performance.now();
  const long = sleep(60_000, signal);
  controller.abort();
  await long;
  assert.ok(performance.now() - started < 1000);
  await sleep(60_000, signal); // already aborted: at once
});
