/**
 * A 3-node KRaft cluster for the fault suite, started and stopped through `deno task kafka` on free loopback ports,
 * with the pipeline's topics replicated three times (`min.insync.replicas=2`), and the faults done to it: a node
 * killed with SIGKILL and started again, the whole cluster stopped and started. `secure`: `kafka start --secure`
 * (SASL_SSL, TLS between nodes, ACLs), every client logged in as its own user.
 */
import type { BrokerAddress, KafkaRole, KafkaSecurity } from "../../tasks/lib/config.ts";
import { loadKafkaConfig, loadKafkaSecurity } from "../../tasks/lib/config.ts";
import { createKafka } from "../../tasks/lib/kafka/client.ts";
import { localNodes, runningPid } from "../../tasks/lib/kafka/local_cluster.ts";
import { TRADES_TOPIC } from "../../tasks/lib/kafka/topics.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { freePortRun } from "../helpers/broker.ts";
import { makeTestDir, runDenoTask, type TaskResult } from "../helpers/tasks.ts";

/** A running 3-node cluster. */
export interface FaultCluster {
  /** All three nodes, so clients bootstrap with any one down. */
  brokers: BrokerAddress[];
  /** The environment that points tasks at all three nodes (and trusts its CA, when secure). */
  env: Record<string, string>;
  /** What a task running as `role` adds to {@link env} to log in (nothing on a plaintext cluster). */
  login(role: KafkaRole): Record<string, string>;
  /** The test's own clients' login: the admin's. */
  security: KafkaSecurity;
  /** Runs `deno task kafka <args>` against this cluster (`start`, `stop`, `--node ID`, …); throws when it fails. */
  kafka(...args: string[]): Promise<TaskResult>;
  /** Kills node `id` with SIGKILL and waits until it is gone; returns its PID. */
  killNode(id: number): Promise<number>;
  /** The node leading `partition` of crypto.trades.v1. */
  leaderOf(partition: number): Promise<number>;
  /** Stops every node and deletes the cluster's data (kept with FAULTS_KEEP=1, to read the log segments). */
  [Symbol.asyncDispose](): Promise<void>;
}

const NODES = 3;

/** Starts three broker + controller nodes and creates the topics with replication factor 3 and min ISR 2. */
export async function startFaultCluster(options: { secure?: boolean } = {}): Promise<FaultCluster> {
  const base = freePortRun(2 * NODES);
  const dataDir = await makeTestDir("kafka-faults");
  const secretsDir = `data/secrets/test-faults-${crypto.randomUUID()}`;
  // The first node alone: `kafka` finds the other two from the cluster it recorded (`--nodes 3` at the start).
  const adminEnv = {
    KAFKA_BROKERS: `localhost:${base}`,
    KAFKA_DATA_DIR: dataDir,
    KAFKA_HEAP: "256m",
    ...(options.secure ? { KAFKA_SECRETS_DIR: secretsDir } : {}),
  };
  const brokers = Array.from({ length: NODES }, (_, i) => ({ host: "localhost", port: base + 2 * i }));
  const allNodes = { ...adminEnv, KAFKA_BROKERS: brokers.map((b) => `${b.host}:${b.port}`).join(",") };
  const nodes = localNodes(loadKafkaConfig(new Map(Object.entries(allNodes))), PROJECT_ROOT);
  const env = {
    ...allNodes,
    ...(options.secure ? { KAFKA_SECURITY_PROTOCOL: "SASL_SSL", KAFKA_SSL_CA_FILE: `${secretsDir}/ca.pem` } : {}),
  };
  const login = (role: KafkaRole): Record<string, string> =>
    options.secure ? { KAFKA_SASL_USERNAME: role, KAFKA_SASL_PASSWORD_FILE: `${secretsDir}/${role}.password` } : {};
  let security: KafkaSecurity = { protocol: "PLAINTEXT" };

  const kafka = async (...args: string[]) => {
    const result = await runDenoTask(["kafka", ...args], adminEnv);
    if (result.code !== 0) {
      throw new Error(`kafka ${args.join(" ")} failed (${result.code}): ${result.stdout}${result.stderr}`);
    }
    return result;
  };
  const cluster: FaultCluster = {
    brokers,
    env,
    login,
    get security() {
      return security;
    },
    kafka,
    async killNode(id) {
      const node = nodes.find((n) => n.nodeId === id)!;
      const pid = await runningPid(node);
      if (pid === undefined) throw new Error(`Cannot kill Kafka node ${id}: it is not running`);
      Deno.kill(pid, "SIGKILL");
      while (await runningPid(node) !== undefined) await sleep(50);
      return pid;
    },
    async leaderOf(partition) {
      const admin = createKafka(brokers, { quiet: true, security }).admin();
      await admin.connect();
      try {
        const [topic] = (await admin.fetchTopicMetadata({ topics: [TRADES_TOPIC] })).topics;
        return topic!.partitions.find((p) => p.partitionId === partition)!.leader;
      } finally {
        await admin.disconnect();
      }
    },
    async [Symbol.asyncDispose]() {
      const stopped = await runDenoTask(["kafka", "stop"], adminEnv);
      if (Deno.env.get("FAULTS_KEEP") !== "1") {
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
        await Deno.remove(`${PROJECT_ROOT}/${secretsDir}`, { recursive: true }).catch(() => {});
      } else console.log(`kept ${dataDir}`);
      if (stopped.code !== 0) throw new Error(`kafka stop failed: ${stopped.stderr}`);
    },
  };
  try {
    await kafka("start", "--nodes", String(NODES), ...(options.secure ? ["--secure"] : []));
    security = loadKafkaSecurity(new Map(Object.entries({ ...env, ...login("admin") })));
    const topics = await runDenoTask(["topics"], {
      ...env,
      ...login("admin"),
      KAFKA_REPLICATION_FACTOR: String(NODES),
      KAFKA_MIN_INSYNC_REPLICAS: "2",
    });
    if (topics.code !== 0) throw new Error(`topics failed (${topics.code}): ${topics.stdout}${topics.stderr}`);
  } catch (error) {
    await cluster[Symbol.asyncDispose]().catch(() => {});
    throw error;
  }
  return cluster;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
