/**
 * `deno task kafka start|stop|status|logs [--nodes N] [--node ID]`: the local Apache Kafka (KRaft) cluster, without
 * Docker. One node per KAFKA_BROKERS entry, or `--nodes N` on consecutive port pairs from the first entry (9092, 9094,
 * 9096, …); `stop` and `status` then find the same nodes again. `--node ID` starts or stops one node of the cluster.
 *
 * Permissions: run java, mvn and kill; net to loopback only; read and write the data and cache folders.
 */
import { parseArgs } from "node:util";
import { join, relative, resolve } from "node:path";
import { type KafkaConfig, loadKafkaConfig, parseBrokers } from "./lib/config.ts";
import { runTask, UsageError, wholeNumberFlag } from "./lib/cli.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { type BrokerNode, expandBrokers, nodeFiles } from "./lib/kafka/broker_config.ts";
import { ensureClusterSecrets, secretFiles } from "./lib/kafka/cluster_secrets.ts";
import {
  applyAcls,
  clusterStatus,
  isFormatted,
  localNodes,
  recordedBrokers,
  recordedSecure,
  startCluster,
  stopCluster,
  tail,
} from "./lib/kafka/local_cluster.ts";

const USAGE = "usage: deno task kafka start|stop|status|logs [--secure] [--nodes N] [--node ID] [--lines N]";

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      lines: { type: "string", default: "50" },
      nodes: { type: "string" },
      node: { type: "string" },
      secure: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`Cannot use extra arguments "${extra.join(" ")}": ${USAGE}`);
  const config = clusterShape(loadKafkaConfig(Deno.env), values.nodes);
  const cluster = localNodes(config, PROJECT_ROOT);
  const only = values.node === undefined ? undefined : wholeNumberFlag("node", values.node, 1, cluster.length);
  const nodes = cluster.filter((node) => only === undefined || node.nodeId === only);

  switch (command) {
    case "start": {
      const secrets = await secureSetUp(config, cluster, values.secure);
      await startCluster(config, cluster, { ...(only === undefined ? {} : { only }), ...(secrets ? { secrets } : {}) });
      if (secrets) {
        const acls = await applyAcls(config, secrets);
        const files = secretFiles(relative(PROJECT_ROOT, secrets.dir));
        console.log(`Secure: SASL_SSL (SCRAM-SHA-512), TLS between nodes, ${acls} ACLs for producer and consumer`);
        console.log(
          `  CA ${files.ca}; users admin, producer, consumer, passwords in ${
            join(relative(PROJECT_ROOT, secrets.dir), "<user>.password")
          }`,
        );
        console.log(
          `  e.g. KAFKA_SECURITY_PROTOCOL=SASL_SSL KAFKA_SASL_USERNAME=producer ` +
            `KAFKA_SASL_PASSWORD_FILE=${files.password("producer")} KAFKA_SSL_CA_FILE=${files.ca} deno task producer`,
        );
      }
      return 0;
    }
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

/**
 * The secrets of a secure start: with --secure, or when the cluster was set up secure (a secure cluster is never
 * started in the clear by forgetting the flag). A cluster formatted in the clear cannot become secure: its SCRAM
 * users are written when the storage is formatted.
 */
async function secureSetUp(config: KafkaConfig, cluster: BrokerNode[], secure: boolean) {
  const dataDir = resolve(PROJECT_ROOT, config.dataDir);
  const recorded = recordedSecure(dataDir);
  if (secure && !recorded && isFormatted(cluster)) {
    throw new UsageError(
      `Cannot start ${config.dataDir} with --secure: it was set up without it, and its users can only be made when ` +
        `the storage is formatted; use another KAFKA_DATA_DIR for the secure cluster (or delete ${config.dataDir})`,
    );
  }
  return secure || recorded ? await ensureClusterSecrets(resolve(PROJECT_ROOT, config.secretsDir)) : undefined;
}

/**
 * The brokers to work with: `--nodes N` from the first KAFKA_BROKERS entry; else KAFKA_BROKERS when it lists several;
 * else the brokers the cluster in KAFKA_DATA_DIR was last started with, when they begin with the same one.
 */
function clusterShape(config: KafkaConfig, nodes: string | undefined): KafkaConfig {
  const first = config.brokers[0]!;
  if (nodes !== undefined) {
    if (config.brokers.length > 1) {
      throw new UsageError("Cannot use --nodes when KAFKA_BROKERS lists several brokers: use one or the other");
    }
    return { ...config, brokers: expandBrokers(first, wholeNumberFlag("nodes", nodes, 1, 9)) };
  }
  if (config.brokers.length > 1) return config;
  const recorded = recordedBrokers(resolve(PROJECT_ROOT, config.dataDir));
  const brokers = recorded === undefined ? undefined : parseBrokers("KAFKA_BROKERS", recorded);
  return brokers && brokers[0]!.host === first.host && brokers[0]!.port === first.port
    ? { ...config, brokers }
    : config;
}

if (import.meta.main) runTask("kafka", main);
