/**
 * Alerts end to end: a refresh opens alerts from the health thresholds, `refresh --fail-on-alert` exits 3,
 * `deno task notify` POSTs each opening and resolution once to a real local webhook (retrying a refusal), and a
 * later refresh resolves what no longer holds.
 */
import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { type FixtureTrade, writeLake } from "../helpers/lake.ts";
import { runDenoTask } from "../helpers/tasks.ts";

const MINUTE = 60_000;

function trades(firstId: number, count: number, startMs: number): FixtureTrade[] {
  return Array.from({ length: count }, (_, i) => ({
    pair: "BTCUSDT",
    id: firstId + i,
    price: "60000.00",
    qty: "0.01000000",
    timeMs: startMs + i * 1000,
  }));
}

async function alerts(duckdbPath: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(duckdbPath, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(
      "select pair, kind, resolved_at is not null as resolved, notified_opened_at is not null as told_open, " +
        "notified_resolved_at is not null as told_resolved from marts.alerts order by opened_at, kind",
    )).getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

Deno.test("alerts open and resolve with the data, and notify tells a webhook each change once", async () => {
  const id = crypto.randomUUID();
  const lakeDir = `data/parquet/test-${id}`;
  const dbDir = `data/duckdb/test-${id}`;
  const token = `token-${crypto.randomUUID()}`;
  const received: Record<string, unknown>[] = [];
  let refusals = 2; // the webhook refuses the first two attempts: notify must retry
  const webhook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    if (refusals-- > 0) return new Response("busy", { status: 503 });
    received.push(await request.json());
    return new Response(null, { status: 204 });
  });
  const env = {
    LAKE_DIR: lakeDir,
    DUCKDB_PATH: `${dbDir}/crypto.duckdb`,
    // A token in the path, as Slack's and most webhooks carry one: it must never be printed.
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${webhook.addr.port}/hooks/${token}`,
  };
  const secretsDir = `data/secrets/test-${id}`;
  const outputs: string[] = [];
  const notify = async (extra: Record<string, string> = {}) => {
    const result = await runDenoTask(["notify"], { ...env, ...extra });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  try {
    // Trades that stopped two hours ago: the pair is stale.
    await writeLake(`${PROJECT_ROOT}/${lakeDir}`, trades(1, 60, Date.now() - 120 * MINUTE));
    const stale = await runDenoTask(["refresh", "--fail-on-alert"], env);
    assert.equal(stale.code, 3, stale.stdout + stale.stderr);
    assert.match(stale.stdout, /alerts: 1 open \(1 new, 0 resolved\): BTCUSDT stale: no trade for \d+ s/);

    const none = await notify({ ALERT_WEBHOOK_URL: "" });
    assert.match(none.stdout, /neither ALERT_WEBHOOK_URL_FILE nor ALERT_WEBHOOK_URL is set; nothing to send/);
    const bad = await notify({ ALERT_WEBHOOK_URL: `ftp://example.invalid/${token}` });
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^notify: ALERT_WEBHOOK_URL="\[redacted\]" is invalid: expected an http:\/\/ or https:\/\/ URL$/m,
    );
    const first = await notify();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /notify: sent 1 alert events/);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.event, "alert_opened");
    assert.equal(received[0]!.kind, "stale");
    assert.equal(received[0]!.pair, "BTCUSDT");
    const again = await notify();
    assert.match(again.stdout, /notify: sent 0 alert events/, "each change is sent once");

    // Trades again, up to now: the alert resolves, and the webhook hears of it.
    await writeLake(`${PROJECT_ROOT}/${lakeDir}`, trades(61, 30, Date.now() - 30_000), { firstOffset: 60 });
    const fresh = await runDenoTask(["refresh", "--fail-on-alert"], env);
    assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
    assert.match(fresh.stdout, /alerts: 0 open \(0 new, 1 resolved\)/);
    // From a file, as the README advises.
    await Deno.mkdir(`${PROJECT_ROOT}/${secretsDir}`, { recursive: true });
    await Deno.writeTextFile(`${PROJECT_ROOT}/${secretsDir}/webhook.url`, `${env.ALERT_WEBHOOK_URL}\n`);
    const second = await notify({ ALERT_WEBHOOK_URL: "", ALERT_WEBHOOK_URL_FILE: `${secretsDir}/webhook.url` });
    assert.match(second.stdout, /notify: sent 1 alert events/, second.stderr);
    assert.deepEqual(received.map((event) => event.event), ["alert_opened", "alert_resolved"]);
    assert.deepEqual(await alerts(`${PROJECT_ROOT}/${dbDir}/crypto.duckdb`), [
      { pair: "BTCUSDT", kind: "stale", resolved: true, told_open: true, told_resolved: true },
    ]);
    assert.match(first.stdout, /sent 1 alert events to http:\/\/127\.0\.0\.1:\d+\/…$/m);
    assert.ok(outputs.every((text) => !text.includes(token)), "the webhook's token is never printed");
  } finally {
    await webhook.shutdown();
    for (const dir of [lakeDir, dbDir, secretsDir]) {
      await Deno.remove(`${PROJECT_ROOT}/${dir}`, { recursive: true }).catch(() => {});
    }
  }
});
