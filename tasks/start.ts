/**
 * `deno task start [--with-kafka]`: the live pipeline against the exchange (BINANCE_WS_URL), in the background: starts
 * the supervisor (`deno task supervise`) detached and returns once the producer and the consumer are up. Already
 * running: says so, exits 0. Kafka must be running, or pass --with-kafka to run `deno task kafka start` and
 * `deno task topics` first. Under KAFKA_SECURITY_PROTOCOL=SASL_SSL every component logs in as its own user
 * (loadSupervisedLogins), and --with-kafka starts the cluster with --secure.
 *
 * Permissions: run deno (the supervisor and, with --with-kafka, kafka and topics, each with its own permissions),
 * ps and kill (to find and stop what a dead supervisor left); read deno.json; read and write only RUN_DIR (data/run);
 * the Kafka login settings' names.
 */
import { parseArgs } from "node:util";
import { runTask, UsageError } from "./lib/cli.ts";
import { loadMarkets, loadSupervisedLogins, loadSupervisorConfig } from "./lib/config.ts";
import { startPipeline } from "./lib/supervisor/lifecycle.ts";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { "with-kafka": { type: "boolean", default: false } },
  });
  if (positionals.length > 0) {
    throw new UsageError(`Cannot use "${positionals.join(" ")}": usage: deno task start [--with-kafka]`);
  }
  loadMarkets(Deno.env); // a MARKETS the supervisor would refuse fails here, in the foreground
  await startPipeline(loadSupervisorConfig(Deno.env), values["with-kafka"], loadSupervisedLogins(Deno.env));
  return 0;
}

if (import.meta.main) runTask("start", main);
