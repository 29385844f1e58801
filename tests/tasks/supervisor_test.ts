/**
 * `deno task start`, `status` and `stop`: the live pipeline under its supervisor, against the local exchange and a
 * real broker. A consumer killed with SIGKILL is restarted and `status` shows it; refresh runs on its schedule; stop
 * leaves no process behind.
 */
import assert from "node:assert/strict";
import { startExchange } from "../../tasks/lib/exchange/server.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import type { SupervisorRecord } from "../../tasks/lib/supervisor/state.ts";
import type { PipelineStatus, StatusRow } from "../../tasks/lib/supervisor/status.ts";
import { startTestBroker } from "../helpers/broker.ts";
import { runDenoTask } from "../helpers/tasks.ts";

const kafkaTest = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "start supervises the live pipeline: a killed consumer is restarted, status reflects it, stop leaves nothing (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    const exchange = await startExchange({ port: 0, symbols: ["BTCUSDT", "ETHUSDT"], seed: 17, rate: 20 });
    const id = crypto.randomUUID();
    const dirs = {
      lake: `data/parquet/test-${id}`,
      database: `data/duckdb/test-${id}`,
      producer: `data/producer/test-${id}`,
      run: `data/run/test-${id}`,
    };
    const env = {
      ...broker.env,
      BINANCE_WS_URL: `ws://127.0.0.1:${exchange.port}`,
      BINANCE_REST_URL: `http://127.0.0.1:${exchange.port}`,
      SYMBOLS: "BTCUSDT,ETHUSDT",
      LAKE_DIR: dirs.lake,
      DUCKDB_PATH: `${dirs.database}/crypto.duckdb`,
      PRODUCER_STATE_PATH: `${dirs.producer}/state.json`,
      RUN_DIR: dirs.run,
      REFRESH_EVERY: "5s",
      // The live report would write the project's reports/ every 5 s; its loop is tested with fake tasks.
      LIVE_REPORT: "0",
    };
    const seen = new Set<number>();
    const status = async () => {
      const result = await runDenoTask(["status", "--json"], env);
      const parsed = JSON.parse(result.stdout) as PipelineStatus & { marts: unknown };
      assert.ok("marts" in parsed, "status --json carries the marts' scorecard, or why there is none");
      for (const row of parsed.rows) if (row.pid !== null) seen.add(row.pid);
      return { code: result.code, ...parsed, row: (name: string) => parsed.rows.find((r) => r.component === name)! };
    };
    const record = () =>
      JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}/${dirs.run}/supervisor.json`)) as SupervisorRecord;
    try {
      const started = await runDenoTask(["start"], env);
      assert.equal(started.code, 0, started.stdout + started.stderr);
      assert.match(started.stdout, /Started the live pipeline: supervisor pid \d+, producer pid \d+, consumer pid \d+/);
      assert.match(started.stdout, new RegExp(`Log: ${dirs.run}/supervisor.log`));
      assert.match((await runDenoTask(["start"], env)).stdout, /already running/);

      const before = await status();
      assert.equal(before.code, 0, JSON.stringify(before.rows));
      assert.deepEqual(before.rows.map((r) => [r.component, r.state]), [
        ["supervisor", "running"],
        ["producer", "running"],
        ["consumer", "running"],
        ["refresh", "waiting"],
      ]);
      const killed = before.row("consumer").pid!;
      assert.equal(before.row("consumer").restarts, 0);

      Deno.kill(killed, "SIGKILL");
      const after = await until(async () => {
        const now = await status();
        const consumer = now.row("consumer");
        return consumer.state === "running" && consumer.pid !== killed && consumer.restarts === 1 ? now : undefined;
      }, 20_000);
      const restarted = after.row("consumer").pid!;
      assert.equal(after.code, 0);
      const log = Deno.readTextFileSync(`${PROJECT_ROOT}/${dirs.run}/supervisor.log`);
      assert.match(
        log,
        new RegExp(`consumer \\(pid ${killed}\\) exited with code 137 \\(SIGKILL\\) .*restarting in 1 s`),
      );
      assert.match(log, new RegExp(`consumer restarted \\(pid ${restarted}, restart 1\\)`));
      const table = await runDenoTask(["status"], env);
      assert.equal(table.code, 0, table.stdout);
      const consumerCells = table.stdout.split("\n").find((line) => line.startsWith("consumer"))!.split(/\s{2,}/);
      assert.deepEqual([consumerCells[1], consumerCells[2], consumerCells[4]], ["running", String(restarted), "1"]);

      // A refresh that built the marts from what the consumer wrote, shown by status.
      const refresh = await until(() => {
        const last = record().refresh.last;
        return last !== null && /^refresh: (incremental|full)/.test(last.summary) ? last : undefined;
      }, 45_000);
      assert.equal(refresh.ok, true, refresh.summary);
      const shown = (await status()).row("refresh");
      assert.match(shown.detail, /last ok .* ago, took .*: refresh: (incremental|full)/);
      // The marts it built, as the report's headline reads them.
      const scored = (await runDenoTask(["status"], env)).stdout;
      assert.match(scored, /^marts, .* UTC \(the report's window\):$/m);
      assert.match(scored, /^ {2}BTCUSDT +\d+ trades, klines .*, gaps \d+ found \/ \d+ healed \/ \d+ open, \d+ DLQ/m);
      await until(async () => /lag \d+ messages, /.test((await status()).row("consumer").detail) || undefined, 15_000);
      assert.match((await status()).row("producer").detail, /lag \d+\.\d s behind trade time/);

      const stopped = await runDenoTask(["stop"], env);
      assert.equal(stopped.code, 0, stopped.stdout + stopped.stderr);
      assert.match(stopped.stdout, /Stopped the live pipeline/);
      const down = await status();
      assert.equal(down.code, 3);
      assert.ok(down.rows.every((row: StatusRow) => row.state === "stopped" && row.pid === null), JSON.stringify(down));
      for (const pid of [...Object.values(record().components).map((c) => c.pid), record().refresh.pid]) {
        assert.equal(pid, null);
      }
      seen.add(killed);
      assert.deepEqual(await living([...seen]), [], "no process of the pipeline is left");
      assert.match((await runDenoTask(["stop"], env)).stdout, /not running/);
    } finally {
      await runDenoTask(["stop"], env);
      await exchange.shutdown();
      for (const dir of Object.values(dirs)) {
        await Deno.remove(`${PROJECT_ROOT}/${dir}`, { recursive: true }).catch(() => {});
      }
    }
  },
);

/** The PIDs among `pids` that are alive (zombies are gone, only not yet reaped). */
async function living(pids: number[]): Promise<string[]> {
  const output = await new Deno.Command("ps", { args: ["-o", "pid=,stat=,args=", "-p", pids.join(",")] }).output();
  return new TextDecoder().decode(output.stdout).split("\n").filter((line) => line.trim() !== "")
    .filter((line) => !/^\s*\d+\s+Z/.test(line));
}

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
async function until<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Gave up after ${timeoutMs / 1000} s`);
}
