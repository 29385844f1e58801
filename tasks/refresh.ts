/**
 * `deno task refresh [--full] [--timeout SECONDS] [--no-tests] [--fail-on-alert]`: builds the staging and mart models from the lake
 * into DUCKDB_PATH, runs the data tests and publishes the result atomically. Safe under a scheduler: a second
 * concurrent run says so and exits 0, an empty lake is a clean skip, and readers never see a half-built database.
 *
 * Exit codes: 0 built (or skipped), 1 a data test failed (the marts are published all the same, so readers see
 * the data the tests flag) or the run timed out (nothing published), 2 bad input, 3 with --fail-on-alert when an
 * alert is open after the refresh (for schedulers that should see it).
 *
 * Permissions: read the lake, the models and the database folder; write the database folder; FFI for DuckDB,
 * which is confined to the lake and the database folder. No network.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { loadHealthThresholds, loadStorageConfig } from "./lib/config.ts";
import { runTask, TaskError, wholeNumberFlag } from "./lib/cli.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { refreshMarts, RefreshTimeoutError } from "./lib/warehouse/builder.ts";
import { ModelError } from "./lib/warehouse/models.ts";
import { formatSummary } from "./lib/warehouse/summary.ts";

/** Exit code with --fail-on-alert when an alert is open, apart from 1 (a data test failed). */
const EXIT_ALERT = 3;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      full: { type: "boolean", default: false },
      timeout: { type: "string" },
      "no-tests": { type: "boolean", default: false },
      "fail-on-alert": { type: "boolean", default: false },
    },
  });
  const timeoutMs = values.timeout === undefined
    ? undefined
    : wholeNumberFlag("timeout", values.timeout, 1, 86_400) * 1000;
  const storage = loadStorageConfig(Deno.env);
  const health = loadHealthThresholds(Deno.env);
  const lakeDir = resolve(PROJECT_ROOT, storage.lakeDir);
  const duckdbPath = resolve(PROJECT_ROOT, storage.duckdbPath);

  let result;
  try {
    result = await refreshMarts({
      lakeDir,
      duckdbPath,
      modelsDir: resolve(PROJECT_ROOT, "models"),
      full: values.full,
      runTests: !values["no-tests"],
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      variables: {
        health_stale_after_seconds: health.staleAfterSeconds,
        health_warn_latency_ms: health.warnLatencyMs,
        alert_dlq_per_5m: health.alertDlqPer5m,
      },
      log: (line) => console.log(line),
    });
  } catch (error) {
    if (error instanceof RefreshTimeoutError || error instanceof ModelError) throw new TaskError(error.message);
    throw error;
  }
  if (result.status === "locked") {
    console.log(`refresh: another refresh is running (${duckdbPath}.lock); leaving it to finish`);
    return 0;
  }
  if (result.status === "empty") {
    console.log(`refresh: no trades in the lake at ${lakeDir} yet; nothing to build (run the demo or the consumer)`);
    return 0;
  }
  console.log(formatSummary(result));
  if (result.tests.some((test) => test.failingRows > 0)) return 1;
  return values["fail-on-alert"] && (result.alerts?.open.length ?? 0) > 0 ? EXIT_ALERT : 0;
}

if (import.meta.main) runTask("refresh", main);
