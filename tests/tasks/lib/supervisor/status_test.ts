import assert from "node:assert/strict";
import { newRecord, type SupervisorRecord } from "../../../../tasks/lib/supervisor/state.ts";
import { formatDuration, formatStatus, pipelineStatus } from "../../../../tasks/lib/supervisor/status.ts";

const T0 = Date.UTC(2025, 0, 1, 12);
const LOG = "data/run/supervisor.log";

/** A supervisor (pid 100) started at T0 with the producer (101) and a restarted consumer (105). */
function runningRecord(): SupervisorRecord {
  const record = newRecord(100, T0, 300_000);
  record.components.producer = {
    ...record.components.producer!,
    state: "running",
    pid: 101,
    startedAtMs: T0 + 1000,
    lag: { seconds: 0.4, atMs: T0 + 600_000 },
  };
  record.components.consumer = {
    ...record.components.consumer!,
    state: "running",
    pid: 105,
    startedAtMs: T0 + 300_000,
    restarts: 1,
    lastExit: { code: 137, signal: "SIGKILL", atMs: T0 + 299_000 },
    lag: { messages: 12, seconds: 0.8, atMs: T0 + 600_000 },
  };
  record.refresh = {
    ...record.refresh,
    nextAtMs: T0 + 720_000,
    runs: 2,
    failures: 0,
    last: {
      startedAtMs: T0 + 598_000,
      finishedAtMs: T0 + 600_500,
      code: 0,
      ok: true,
      summary: "refresh: incremental, lake unchanged: 12 models, tests 130 passed, 0 failed, 2 lake files, 2.5 s",
    },
  };
  return record;
}

Deno.test("pipelineStatus() shows each component's PID, uptime, restarts, lag and the last refresh", () => {
  const status = pipelineStatus(runningRecord(), new Set([100, 101, 105]), T0 + 602_000, LOG);
  assert.equal(status.running, true);
  assert.deepEqual(
    status.rows.map((row) => [row.component, row.state, row.pid, row.uptimeSeconds, row.restarts]),
    [
      ["supervisor", "running", 100, 602, null],
      ["producer", "running", 101, 601, 0],
      ["consumer", "running", 105, 302, 1],
      ["refresh", "waiting", null, null, null],
    ],
  );
  assert.equal(
    formatStatus(status),
    [
      "component   state    pid  uptime      restarts  lag, last refresh",
      `supervisor  running  100  10 min 2 s  -         log ${LOG}`,
      "producer    running  101  10 min 1 s  0         lag 0.4 s behind trade time",
      "consumer    running  105  5 min 2 s   1         lag 12 messages, 0.8 s behind trade time; " +
      "last exit code 137 (SIGKILL) 5 min 3 s ago",
      "refresh     waiting  -    -           -         last ok 2 s ago, took 2.5 s: refresh: incremental, lake " +
      "unchanged: 12 models, tests 130 passed, 0 failed, 2 lake files, 2.5 s; next in 1 min 58 s; every 5 min, 2 runs, " +
      "0 failed",
    ].join("\n"),
  );
});

Deno.test("pipelineStatus() is not running while a component waits to be restarted", () => {
  const record = runningRecord();
  record.components.consumer = {
    ...record.components.consumer!,
    state: "backoff",
    pid: null,
    nextStartAtMs: T0 + 4000,
  };
  const status = pipelineStatus(record, new Set([100, 101]), T0 + 2000, LOG);
  assert.equal(status.running, false);
  assert.equal(status.rows[2]!.state, "backoff");
  assert.match(status.rows[2]!.detail, /^restart in 2 s; last exit code 137/);
});

Deno.test("pipelineStatus() calls a supervisor that vanished dead and its surviving children orphaned", () => {
  const status = pipelineStatus(runningRecord(), new Set([105]), T0 + 602_000, LOG);
  assert.equal(status.running, false);
  assert.deepEqual(status.rows.map((row) => [row.state, row.pid]), [
    ["dead", null],
    ["stopped", null],
    ["orphaned", 105],
    ["stopped", null],
  ]);
});

Deno.test("pipelineStatus() shows a pipeline never started as stopped", () => {
  const status = pipelineStatus(undefined, new Set(), T0, LOG);
  assert.equal(status.running, false);
  assert.ok(status.rows.every((row) => row.state === "stopped" && row.pid === null));
});

Deno.test("formatDuration() reads like a person writes it", () => {
  assert.deepEqual(
    [0.25, 3, 45, 60, 725, 3600 * 3 + 125, 86_400 * 2 + 3600 * 4].map(formatDuration),
    ["0.3 s", "3 s", "45 s", "1 min", "12 min 5 s", "3 h 2 min", "2 d 4 h"],
  );
});
