/**
 * `deno task stop [--with-kafka]`: stops the live pipeline: SIGTERM to the supervisor, which stops the producer, the
 * consumer and a running refresh, then waits until all are gone (SIGKILL after 45 s). Not running: says so, exits 0.
 * With --with-kafka, also `deno task kafka stop`.
 *
 * Permissions: run ps and kill (and deno, for --with-kafka); read deno.json and RUN_DIR (data/run).
 */
import { parseArgs } from "node:util";
import { runTask, TaskError, UsageError } from "./lib/cli.ts";
import { loadSupervisorConfig } from "./lib/config.ts";
import { stopPipeline } from "./lib/supervisor/lifecycle.ts";
import { startService } from "./lib/supervisor/service.ts";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { "with-kafka": { type: "boolean", default: false } },
  });
  if (positionals.length > 0) {
    throw new UsageError(`Cannot use "${positionals.join(" ")}": usage: deno task stop [--with-kafka]`);
  }
  await stopPipeline(loadSupervisorConfig(Deno.env));
  if (values["with-kafka"]) {
    const { code } = await startService("kafka", ["stop"], {}).finished;
    if (code !== 0) throw new TaskError(`deno task kafka stop failed (exit code ${code}); see above`);
  }
  return 0;
}

if (import.meta.main) runTask("stop", main);
