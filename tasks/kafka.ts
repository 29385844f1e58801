/**
 * `deno task kafka start|stop|status|logs`: the local Apache Kafka (KRaft) cluster, without Docker.
 *
 * Permissions: run java, mvn and kill; net to loopback only; read and write the data and cache folders.
 */
import { parseArgs } from "node:util";
import { loadKafkaConfig } from "./lib/config.ts";
import { runTask, UsageError } from "./lib/cli.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { nodeFiles } from "./lib/kafka/broker_config.ts";
import { clusterStatus, localNodes, startCluster, stopCluster, tail } from "./lib/kafka/local_cluster.ts";

const USAGE = "usage: deno task kafka start|stop|status|logs [--lines N]";

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { lines: { type: "string", default: "50" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`Cannot use extra arguments "${extra.join(" ")}": ${USAGE}`);
  const config = loadKafkaConfig(Deno.env);
  const nodes = localNodes(config, PROJECT_ROOT);

  switch (command) {
    case "start":
      await startCluster(config, nodes);
      return 0;
    case "stop":
      await stopCluster(nodes);
      return 0;
    case "status": {
      const statuses = await clusterStatus(nodes);
      for (const node of statuses) {
        const state = node.running ? `running  pid ${node.pid}  up ${node.uptimeSeconds} s` : "stopped";
        console.log(`node ${node.nodeId}  ${node.address}  ${state}`);
      }
      return statuses.every((node) => node.running) ? 0 : 3; // 3: not running, as LSB init scripts say
    }
    case "logs": {
      const lines = Number(values.lines);
      if (!Number.isSafeInteger(lines) || lines < 1) {
        throw new UsageError(`Cannot show --lines "${values.lines}": expected a whole number above 0`);
      }
      for (const node of nodes) {
        const log = nodeFiles(node).serverLog;
        console.log(`==> ${log} <==`);
        console.log(tail(log, lines) || "(no log yet: the node was never started)");
      }
      return 0;
    }
    default:
      throw new UsageError(
        command === undefined ? `Missing a command: ${USAGE}` : `Unknown command "${command}": ${USAGE}`,
      );
  }
}

if (import.meta.main) runTask("kafka", main);
