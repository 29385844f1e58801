/** The notebooks' parameters come from the environment, over the first cell's defaults, checked at the edge. */
import assert from "node:assert/strict";
import { ConfigError } from "../../../../tasks/lib/config.ts";
import { loadNotebookParams } from "../../../../tasks/lib/notebooks/params.ts";
import { PROJECT_ROOT } from "../../../../tasks/lib/paths.ts";

const env = (values: Record<string, string> = {}) => new Map(Object.entries(values));

Deno.test("loadNotebookParams() defaults to the busiest pair, 60 minutes and the project's database and lake", () => {
  const params = loadNotebookParams(env());
  assert.equal(params.pair, undefined);
  assert.equal(params.windowMinutes, 60);
  assert.equal(params.duckdbPath, `${PROJECT_ROOT}/data/duckdb/crypto.duckdb`);
  assert.equal(params.lakeDir, `${PROJECT_ROOT}/data/parquet`);
  assert.deepEqual(
    { stale: params.thresholds.staleAfterSeconds, warn: params.thresholds.warnLatencyMs },
    { stale: 60, warn: 2000 },
  );
});

Deno.test("loadNotebookParams() takes the cell's defaults, and the environment over them", () => {
  assert.deepEqual(
    [loadNotebookParams(env(), { pair: "ethusdt", windowMinutes: 15 })].map((p) => [p.pair, p.windowMinutes]),
    [["ETHUSDT", 15]],
  );
  const params = loadNotebookParams(
    env({ NOTEBOOK_PAIR: "solusdt", NOTEBOOK_WINDOW_MINUTES: "240", DUCKDB_PATH: "/tmp/x.duckdb" }),
    { pair: "ETHUSDT", windowMinutes: 15 },
  );
  assert.deepEqual([params.pair, params.windowMinutes, params.duckdbPath], ["SOLUSDT", 240, "/tmp/x.duckdb"]);
});

Deno.test("loadNotebookParams() throws ConfigError naming the variable for a bad pair or window", () => {
  assert.throws(() => loadNotebookParams(env({ NOTEBOOK_PAIR: "../x" })), ConfigError);
  assert.throws(() => loadNotebookParams(env({ NOTEBOOK_WINDOW_MINUTES: "0" })), /NOTEBOOK_WINDOW_MINUTES="0"/);
  assert.throws(() => loadNotebookParams(env({ NOTEBOOK_WINDOW_MINUTES: "1h" })), ConfigError);
  assert.throws(() => loadNotebookParams(env({ HEALTH_WARN_LATENCY_MS: "fast" })), /HEALTH_WARN_LATENCY_MS/);
});
