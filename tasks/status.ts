/**
 * `deno task status [--json]`: the live pipeline's supervisor, producer, consumer and refresh loop: state, PID,
 * uptime, restarts, the consumer's and the producer's lag (from their last progress line) and the last refresh.
 * Exit code 0 when all run, 3 when not (as `kafka status`).
 *
 * Then the marts' scorecard over the report's window (the last 60 minutes of data): per pair trades, kline matches,
 * gaps and dead letters, the same figures as the report's headline and the demo's summary.
 *
 * Permissions: run ps (to check the recorded PIDs); read deno.json, RUN_DIR (data/run) and the marts (data/duckdb,
 * read-only, through DuckDB's native library in node_modules).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runTask, UsageError } from "./lib/cli.ts";
import { loadStorageConfig, loadSupervisorConfig } from "./lib/config.ts";
import { isNoData, withMarts } from "./lib/notebooks/database.ts";
import { notebookWindow, windowScorecard } from "./lib/notebooks/queries.ts";
import { formatScorecard, type Scorecard } from "./lib/warehouse/scorecard.ts";
import { configuredRunFiles, readStatus } from "./lib/supervisor/lifecycle.ts";
import { formatStatus } from "./lib/supervisor/status.ts";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  if (positionals.length > 0) {
    throw new UsageError(`Cannot use "${positionals.join(" ")}": usage: deno task status [--json]`);
  }
  const config = loadSupervisorConfig(Deno.env);
  const status = await readStatus(configuredRunFiles(config), join(config.runDir, "supervisor.log"));
  const marts = await readMarts(loadStorageConfig(Deno.env).duckdbPath);
  if (values.json) {
    console.log(JSON.stringify({ ...status, marts }));
  } else {
    console.log(formatStatus(status));
    console.log(typeof marts === "string" ? `marts: ${marts}` : formatScorecard(marts.scorecard, marts.window));
  }
  return status.running ? 0 : 3; // 3: not running, as LSB init scripts say
}

/** The marts' scorecard over the report's window, or why there is none (status never fails on the marts). */
async function readMarts(
  duckdbPath: string,
): Promise<{ window: { start: Date; end: Date }; scorecard: Scorecard } | string> {
  try {
    const read = await withMarts(duckdbPath, async (marts) => {
      const window = await notebookWindow(marts, { windowMinutes: 60, market: undefined });
      return { window, scorecard: await windowScorecard(marts, window) };
    });
    return isNoData(read) ? read.message.replaceAll("`", "").replaceAll("*", "") : read;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      return `cannot read ${duckdbPath} (DUCKDB_PATH): status reads data/duckdb only`;
    }
    return `cannot read ${duckdbPath} (DUCKDB_PATH): ${error instanceof Error ? error.message : error}`;
  }
}

if (import.meta.main) runTask("status", main);
