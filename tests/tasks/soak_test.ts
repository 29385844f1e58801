/** `deno task soak` wired end to end, briefly: the 15-minute memory bound is for `deno task soak` itself. */
import assert from "node:assert/strict";
import { runDenoTask } from "../helpers/tasks.ts";

Deno.test("soak task runs the pipeline with refreshes and reports memory, lag, latency and completeness", async () => {
  const result = await runDenoTask(["soak", "--minutes", "1", "--rate", "200"]);
  const line = result.stdout.split("\n").find((l) => l.startsWith('{"event":"soak_report"'));
  assert.ok(line, result.stdout + result.stderr);
  const report = JSON.parse(line);
  assert.ok([0, 1].includes(result.code), result.stderr);
  assert.equal(result.code === 0, report.held);
  assert.ok(report.trades > 5000, `${report.trades} trades`);
  assert.deepEqual([report.missing, report.doubled], [0, 0]);
  assert.ok(report.refreshes.ok >= 1);
  assert.deepEqual(report.memory.map((m: { component: string }) => m.component), ["exchange", "producer", "consumer"]);
  assert.ok(report.endToEndP99Ms > 0 && report.endToEndP99Ms < 10_000, String(report.endToEndP99Ms));
  assert.match(result.stderr, /soak: (held|did NOT hold)/);
});
