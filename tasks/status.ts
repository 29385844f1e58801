/**
 * `deno task status [--json]`: the live pipeline's supervisor, producer, consumer and refresh loop: state, PID,
 * uptime, restarts, the consumer's and the producer's lag (from their last progress line) and the last refresh.
 * Exit code 0 when all run, 3 when not (as `kafka status`).
 *
 * Permissions: run ps (to check the recorded PIDs); read deno.json and RUN_DIR (data/run).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runTask, UsageError } from "./lib/cli.ts";
import { loadSupervisorConfig } from "./lib/config.ts";
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
  console.log(values.json ? JSON.stringify(status) : formatStatus(status));
  return status.running ? 0 : 3; // 3: not running, as LSB init scripts say
}

if (import.meta.main) runTask("status", main);
