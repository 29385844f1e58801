/** The supervisor's decisions, with fake children: restarts, a fatal configuration error, the refresh loop. */
import assert from "node:assert/strict";
import { loadSupervisedLogins, type SupervisedLogins } from "../../../../tasks/lib/config.ts";
import type { Service, ServiceExit, ServiceOptions } from "../../../../tasks/lib/supervisor/service.ts";
import { readRecord, runFiles, type SupervisorRecord } from "../../../../tasks/lib/supervisor/state.ts";
import { runSupervisor } from "../../../../tasks/lib/supervisor/supervisor.ts";
import { makeTestDir } from "../../../helpers/tasks.ts";

/** A child that runs until the test ends it with `exit`, or the supervisor stops it. */
interface FakeTask extends Service {
  options: ServiceOptions;
  env: Record<string, string>;
  exit(code: number, signal?: Deno.Signal | null): void;
  running: boolean;
}

function fakeTasks() {
  let nextPid = 1000;
  const started: FakeTask[] = [];
  const start = (name: string, options: ServiceOptions, env: Record<string, string> = {}): FakeTask => {
    let resolveExit!: (exit: ServiceExit) => void;
    const task: FakeTask = {
      name,
      pid: nextPid++,
      options,
      env,
      running: true,
      finished: new Promise<ServiceExit>((resolve) => resolveExit = resolve),
      exit(code, signal = null) {
        if (!task.running) return;
        task.running = false;
        resolveExit({ code, signal, stdout: "" });
      },
      waitForLine: () => Promise.reject(new Error("not used")),
      assertRunning() {},
      stop() {
        task.exit(143, "SIGTERM");
        return Promise.resolve("");
      },
    };
    started.push(task);
    return task;
  };
  return { start, started, of: (name: string) => started.filter((task) => task.name === name) };
}

async function setUp(
  refreshEveryMs: number,
  markets?: ("spot" | "usdm")[],
  liveReport = false,
  logins?: SupervisedLogins,
) {
  const dir = await makeTestDir("supervisor");
  const files = runFiles(dir);
  const tasks = fakeTasks();
  const lines: string[] = [];
  const controller = new AbortController();
  const run = runSupervisor(
    { files, refreshEveryMs, markets, liveReport, logins, log: (line) => lines.push(line), start: tasks.start },
    controller.signal,
  );
  const record = () => readRecord(files) as SupervisorRecord;
  return { dir, tasks, lines, controller, run, record };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Gave up waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const permissions = { permissions: { read: ["data/test-tmp"], write: ["data/test-tmp"] } };

Deno.test("runSupervisor() restarts a component that exits and logs the exit code", permissions, async () => {
  const { dir, tasks, lines, controller, run, record } = await setUp(3_600_000);
  try {
    const [first] = tasks.of("consumer");
    first!.options.onLine!("progress: 5 rows/s | 25 rows in 2 files | lag 3 messages, 0.5 s | buffered 0", "stdout");
    assert.deepEqual(record().components.consumer!.lag?.messages, 3);
    first!.options.onLine!(
      '{"ts":"2025-01-01T12:00:00.000Z","level":"info","component":"consumer",' +
        '"msg":"progress: 5 rows/s | 30 rows in 3 files | lag 7 messages, 0.2 s | buffered 0"}',
      "stdout",
    );
    assert.deepEqual(record().components.consumer!.lag?.messages, 7, "JSON log lines count too");
    first!.exit(137, "SIGKILL");
    await until(() => tasks.of("consumer").length === 2);
    const consumer = record().components.consumer!;
    assert.deepEqual([consumer.state, consumer.pid, consumer.restarts], ["running", tasks.of("consumer")[1]!.pid, 1]);
    assert.ok(lines.some((line) => line.startsWith(`consumer (pid ${first!.pid}) exited with code 137 (SIGKILL)`)));
    assert.ok(lines.some((line) => line === `consumer restarted (pid ${tasks.of("consumer")[1]!.pid}, restart 1)`));
    assert.equal(tasks.of("producer").length, 1, "the producer is left alone");
  } finally {
    controller.abort();
    assert.equal(await run, 0);
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(tasks.started.every((task) => !task.running), "stopped every child");
});

Deno.test(
  "runSupervisor() stops everything and returns 2 when a component's configuration is invalid",
  permissions,
  async () => {
    const { dir, tasks, run, record } = await setUp(3_600_000);
    try {
      tasks.of("producer")[0]!.options.onLine!('producer: SYMBOLS="x" is invalid: expected …', "stderr");
      tasks.of("producer")[0]!.exit(2);
      assert.equal(await run, 2);
      assert.ok(tasks.started.every((task) => !task.running));
      assert.equal(tasks.of("producer").length, 1, "not restarted");
      assert.equal(record().supervisor.state, "failed");
      assert.match(
        record().supervisor.reason!,
        /^producer exited with code 2 \(invalid configuration\): producer: SYMBOLS="x" is invalid/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "runSupervisor() refreshes on schedule, one at a time, and records a failed run without stopping",
  permissions,
  async () => {
    const { dir, tasks, controller, run, record } = await setUp(20);
    try {
      await until(() => tasks.of("refresh").length === 1);
      const first = tasks.of("refresh")[0]!;
      await new Promise((resolve) => setTimeout(resolve, 100)); // five intervals pass while it runs
      assert.equal(tasks.of("refresh").length, 1, "never two at once");
      first.options.onLine!("refresh: incremental, …: 12 models, tests 129 passed, 1 failed, 3 lake files", "stdout");
      first.exit(1);
      await until(() => tasks.of("refresh").length === 2);
      assert.deepEqual(
        { ...record().refresh.last, startedAtMs: 0, finishedAtMs: 0 },
        {
          startedAtMs: 0,
          finishedAtMs: 0,
          code: 1,
          ok: false,
          summary: "refresh: incremental, …: 12 models, tests 129 passed, 1 failed, 3 lake files",
        },
      );
      tasks.of("refresh")[1]!.exit(0);
      await until(() => record().refresh.runs === 2);
      assert.deepEqual([record().refresh.failures, record().refresh.last?.ok], [1, true]);
      assert.ok(tasks.of("producer")[0]!.running && tasks.of("consumer")[0]!.running);
    } finally {
      controller.abort();
      assert.equal(await run, 0);
      assert.deepEqual([record().supervisor.state, record().refresh.state], ["stopped", "stopped"]);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "runSupervisor() with liveReport rebuilds the report after each refresh that succeeded, one at a time",
  permissions,
  async () => {
    const { dir, tasks, lines, controller, run } = await setUp(10, undefined, true);
    try {
      await until(() => tasks.of("refresh").length === 1);
      tasks.of("refresh")[0]!.exit(1);
      await until(() => tasks.of("refresh").length === 2);
      assert.equal(tasks.of("report").length, 0, "no report after a failed refresh");
      tasks.of("refresh")[1]!.exit(0);
      await until(() => tasks.of("report").length === 1);
      assert.equal(tasks.of("report")[0]!.env.REPORT_KEEP, "12");
      // Two more refreshes end while the report is built: one more report follows, not two.
      for (const i of [2, 3]) {
        await until(() => tasks.of("refresh").length === i + 1);
        tasks.of("refresh")[i]!.exit(0);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(tasks.of("report").length, 1, "never two at once");
      tasks.of("report")[0]!.exit(1);
      await until(() => tasks.of("report").length === 2);
      assert.ok(
        lines.some((line) => /report failed \(code 1\); the dashboard keeps showing the previous one/.test(line)),
      );
    } finally {
      controller.abort();
      assert.equal(await run, 0);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("runSupervisor() runs a producer and a consumer per market, each told its MARKET", permissions, async () => {
  const { dir, tasks, controller, run, record } = await setUp(3_600_000, ["spot", "usdm"]);
  try {
    await until(() => tasks.started.length === 4);
    assert.deepEqual(
      tasks.started.map((task) => `${task.name} ${task.env.MARKET}`),
      ["producer spot", "consumer spot", "producer usdm", "consumer usdm"],
    );
    assert.deepEqual(Object.keys(record().components), ["producer", "consumer", "producer-usdm", "consumer-usdm"]);
    tasks.started[3]!.exit(1);
    await until(() => tasks.of("consumer").length === 3);
    assert.equal(tasks.of("consumer")[2]!.env.MARKET, "usdm", "the restart keeps its market");
    assert.equal(record().components["consumer-usdm"]!.restarts, 1);
  } finally {
    controller.abort();
    assert.equal(await run, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "runSupervisor() logs each component in as its own Kafka user, also after a restart",
  permissions,
  async () => {
    const logins = loadSupervisedLogins(
      new Map([["KAFKA_SECURITY_PROTOCOL", "SASL_SSL"], ["KAFKA_SECRETS_DIR", "data/secrets/kafka/"]]),
    );
    const { dir, tasks, controller, run } = await setUp(3_600_000, ["spot", "usdm"], false, logins);
    const login = (task: FakeTask) =>
      `${task.name} ${task.env.KAFKA_SASL_USERNAME} ${task.env.KAFKA_SASL_PASSWORD_FILE}`;
    try {
      await until(() => tasks.started.length === 4);
      assert.deepEqual(tasks.started.map(login), [
        "producer producer data/secrets/kafka/producer.password",
        "consumer consumer data/secrets/kafka/consumer.password",
        "producer producer data/secrets/kafka/producer.password",
        "consumer consumer data/secrets/kafka/consumer.password",
      ]);
      tasks.started[0]!.exit(1);
      await until(() => tasks.of("producer").length === 3);
      assert.equal(login(tasks.of("producer")[2]!), "producer producer data/secrets/kafka/producer.password");
    } finally {
      controller.abort();
      assert.equal(await run, 0);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
