/**
 * Starts, stops and inspects the local KRaft cluster: one JVM per node, launched from the Maven-resolved jars.
 *
 * A node is "running" when the PID in its `broker.pid` belongs to a process whose command line carries that
 * node's folder, so a stale PID file or a recycled PID is never mistaken for a live broker.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, type KafkaConfig } from "../config.ts";
import { TaskError } from "../cli.ts";
import {
  brokerCommand,
  type BrokerNode,
  clusterNodes,
  formatCommand,
  log4jProperties,
  newClusterId,
  nodeFiles,
  scramCredential,
  serverProperties,
} from "./broker_config.ts";
import { createKafka } from "./client.ts";
import { pipelineAcls } from "./acls.ts";
import { BROKER_USER, type ClusterSecrets } from "./cluster_secrets.ts";
import type { KafkaSecurity } from "../config.ts";
import { ensureKafkaJars } from "./jars.ts";

/** What `status` reports for one node. */
export interface NodeStatus {
  nodeId: number;
  address: string;
  running: boolean;
  pid?: number;
  /** Seconds since the node was started by us. */
  uptimeSeconds?: number;
}

/** Timing knobs; tests shorten them. */
export interface LifecycleOptions {
  log?: (line: string) => void;
  /** How long start waits for every node to answer. Default: 90 s. */
  readyTimeoutMs?: number;
  /** How long stop waits for a clean shutdown before SIGKILL. Default: 60 s. */
  stopTimeoutMs?: number;
  /** Start only this node (the others of the cluster are expected to run). */
  only?: number;
  /** Start the nodes secure (SASL_SSL, TLS between nodes, ACLs enforced) with these secrets. */
  secrets?: ClusterSecrets;
}

/** The nodes described by KAFKA_BROKERS, rooted at KAFKA_DATA_DIR (resolved against `root`). */
export function localNodes(config: KafkaConfig, root: string): BrokerNode[] {
  const brokers = config.brokers.map((broker) => `${broker.host}:${broker.port}`).join(",");
  if (!config.brokers.every((broker) => ["localhost", "127.0.0.1"].includes(broker.host))) {
    throw new ConfigError("KAFKA_BROKERS", brokers, "localhost or 127.0.0.1 hosts to run a local broker on");
  }
  try {
    return clusterNodes(config.brokers, resolve(root, config.dataDir));
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new ConfigError("KAFKA_BROKERS", brokers, `ports at least 2 apart (${error.message})`);
  }
}

/**
 * Starts every node of `nodes` that is not running (or only node `options.only`), formatting storage on first start,
 * and waits until the whole cluster answers.
 */
export async function startCluster(
  config: KafkaConfig,
  nodes: BrokerNode[],
  options: LifecycleOptions = {},
): Promise<NodeStatus[]> {
  const log = options.log ?? console.log;
  const libDir = await ensureKafkaJars(log);
  const dataDir = join(nodes[0]!.dir, "..");
  const id = await readOrCreateClusterId(dataDir);
  await recordBrokers(dataDir, nodes, options.secrets !== undefined);
  const launched: { node: BrokerNode; child: Deno.ChildProcess; exited: Promise<Deno.CommandStatus> }[] = [];
  const secrets = options.secrets;
  const security = secrets === undefined ? undefined : {
    keystore: secrets.brokerKeystore,
    truststore: secrets.truststore,
    storePassword: secrets.storePassword.reveal(),
    brokerUser: BROKER_USER,
    brokerPassword: secrets.passwords[BROKER_USER].reveal(),
    superUsers: [BROKER_USER, "admin"],
  };
  // Every user's SCRAM credential goes into the cluster's first metadata, so the brokers can log in to each other.
  // Made only when a node is formatted (a restart needs none), once for all the nodes formatted now.
  let scram: Promise<string[]> | undefined;
  const scramCredentials = () =>
    scram ??= Promise.all(
      Object.entries(secrets?.passwords ?? {}).map(([user, password]) =>
        scramCredential(user, password.reveal(), crypto.getRandomValues(new Uint8Array(32)))
      ),
    );

  for (const node of nodes.filter((node) => options.only === undefined || node.nodeId === options.only)) {
    const pid = await runningPid(node);
    if (pid !== undefined) {
      log(`Kafka node ${node.nodeId} is already running on ${node.host}:${node.port} (pid ${pid})`);
      continue;
    }
    const files = nodeFiles(node);
    await Deno.mkdir(node.dir, { recursive: true });
    await Deno.writeTextFile(files.serverProperties, serverProperties(node, nodes, security), { mode: 0o600 });
    await Deno.chmod(files.serverProperties, 0o600); // it holds the store and broker passwords when secure
    await Deno.writeTextFile(files.log4jProperties, log4jProperties(node));
    if (!existsSync(join(files.logSegments, "meta.properties"))) {
      log(`Formatting KRaft storage of node ${node.nodeId} (cluster ${id})`);
      await runJava(formatCommand(node, libDir, id, await scramCredentials()), "format the KRaft storage");
    }
    const child = spawnJava(brokerCommand(node, libDir, config.heap), files.consoleLog);
    await Deno.writeTextFile(files.pid, `${child.pid}\n`);
    launched.push({ node, child, exited: child.status });
    log(`Started Kafka node ${node.nodeId} on ${node.host}:${node.port} (pid ${child.pid}), log ${files.serverLog}`);
  }

  if (launched.length > 0) {
    const early = Promise.race(launched.map(({ node, exited }) => exited.then((status) => ({ node, status }))));
    const ready = waitUntilReady(config, nodes.length, options.readyTimeoutMs ?? 90_000, adminSecurity(secrets));
    const outcome = await Promise.race([ready.then(() => undefined), early]);
    if (outcome !== undefined) {
      throw new TaskError(
        `Kafka node ${outcome.node.nodeId} exited with code ${outcome.status.code} before it was ready:\n` +
          tail(nodeFiles(outcome.node).consoleLog, 15) + tail(nodeFiles(outcome.node).serverLog, 15),
      );
    }
    for (const { child } of launched) child.unref();
    log(`Kafka is ready on ${nodes.map((node) => `${node.host}:${node.port}`).join(",")}`);
  }
  return clusterStatus(nodes);
}

/** Sends SIGTERM to every running node, waits for a clean exit, and SIGKILLs a node that does not exit in time. */
export async function stopCluster(nodes: BrokerNode[], options: LifecycleOptions = {}): Promise<void> {
  const log = options.log ?? console.log;
  const timeoutMs = options.stopTimeoutMs ?? 60_000;
  await Promise.all(nodes.map(async (node) => {
    const pid = await runningPid(node);
    if (pid === undefined) {
      log(`Kafka node ${node.nodeId} is not running`);
    } else {
      const started = performance.now();
      await signal(pid, "TERM");
      if (!await waitForExit(node, timeoutMs)) {
        log(`Kafka node ${node.nodeId} did not stop within ${timeoutMs / 1000} s; killing pid ${pid}`);
        await signal(pid, "KILL");
        await waitForExit(node, 10_000);
      }
      log(`Stopped Kafka node ${node.nodeId} (pid ${pid}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    await Deno.remove(nodeFiles(node).pid).catch(() => {});
  }));
}

/** Whether each node runs, with its PID and uptime. */
export function clusterStatus(nodes: BrokerNode[]): Promise<NodeStatus[]> {
  return Promise.all(nodes.map(async (node) => {
    const pid = await runningPid(node);
    const address = `${node.host}:${node.port}`;
    if (pid === undefined) return { nodeId: node.nodeId, address, running: false };
    const startedAt = Deno.statSync(nodeFiles(node).pid).mtime?.getTime() ?? Date.now();
    return {
      nodeId: node.nodeId,
      address,
      running: true,
      pid,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    };
  }));
}

/** The last `lines` lines of a file, or nothing when it does not exist. */
export function tail(path: string, lines: number): string {
  if (!existsSync(path)) return "";
  const text = readFileSync(path, "utf8").trimEnd();
  return text === "" ? "" : text.split("\n").slice(-lines).join("\n") + "\n";
}

/** The PID of the node's JVM, when that process is alive and really is this node. */
export async function runningPid(node: BrokerNode): Promise<number | undefined> {
  const pidFile = nodeFiles(node).pid;
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  // `ps` rather than /proc: Deno grants /proc only with --allow-all, and ps works on macOS too.
  const { success, stdout } = await new Deno.Command("ps", { args: ["-ww", "-o", "args=", "-p", String(pid)] })
    .output();
  const commandLine = new TextDecoder().decode(stdout);
  return success && commandLine.includes(`-Dcrypto.pipeline.node=${node.dir} `) ? pid : undefined;
}

async function waitForExit(node: BrokerNode, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (await runningPid(node) !== undefined) {
    if (performance.now() > deadline) return false;
    await delay(100);
  }
  return true;
}

/** How the set-up logs in to a secure cluster: as its admin, trusting its CA. */
export function adminSecurity(secrets: ClusterSecrets | undefined): KafkaSecurity {
  if (secrets === undefined) return { protocol: "PLAINTEXT" };
  return {
    protocol: "SASL_SSL",
    mechanism: "SCRAM-SHA-512",
    username: "admin",
    password: secrets.passwords.admin,
    ca: { pem: Deno.readTextFileSync(secrets.caFile), file: secrets.caFile },
  };
}

async function waitUntilReady(
  config: KafkaConfig,
  expectedBrokers: number,
  timeoutMs: number,
  security: KafkaSecurity,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError = "no answer yet";
  while (performance.now() < deadline) {
    const admin = createKafka(config.brokers, { quiet: true, connectionTimeout: 1000, retry: { retries: 0 }, security })
      .admin();
    try {
      await admin.connect();
      const { brokers, controller } = await admin.describeCluster();
      if (brokers.length >= expectedBrokers && controller !== null) return;
      lastError = `${brokers.length} of ${expectedBrokers} brokers registered`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await delay(300);
  }
  throw new TaskError(`Kafka did not become ready within ${timeoutMs / 1000} s: ${lastError}`);
}

/**
 * The brokers a cluster in `dataDir` was last started with (`cluster.json`), so `stop` and `status` find every node
 * of a cluster started with `--nodes N`; undefined when there is no record.
 */
export function recordedBrokers(dataDir: string): string | undefined {
  const file = join(dataDir, "cluster.json");
  if (!existsSync(file)) return undefined;
  const brokers = JSON.parse(readFileSync(file, "utf8")).brokers;
  return typeof brokers === "string" ? brokers : undefined;
}

/** Whether the cluster in `dataDir` was set up secure (`kafka start --secure`); false without a record. */
export function recordedSecure(dataDir: string): boolean {
  const file = join(dataDir, "cluster.json");
  return existsSync(file) && JSON.parse(readFileSync(file, "utf8")).secure === true;
}

/** Whether node 1 of the cluster in `dataDir` has been formatted (its users and first metadata are set). */
export function isFormatted(nodes: BrokerNode[]): boolean {
  return existsSync(join(nodeFiles(nodes[0]!).logSegments, "meta.properties"));
}

/**
 * Makes the pipeline's ACLs on a secure cluster, logged in as its admin (creating one that exists changes nothing).
 */
export async function applyAcls(config: KafkaConfig, secrets: ClusterSecrets): Promise<number> {
  const admin = createKafka(config.brokers, { quiet: true, retry: { retries: 5 }, security: adminSecurity(secrets) })
    .admin();
  await admin.connect();
  try {
    const acl = pipelineAcls();
    await admin.createAcls({ acl });
    return acl.length;
  } finally {
    await admin.disconnect();
  }
}

async function recordBrokers(dataDir: string, nodes: BrokerNode[], secure: boolean): Promise<void> {
  const brokers = nodes.map((node) => `${node.host}:${node.port}`).join(",");
  await Deno.writeTextFile(join(dataDir, "cluster.json"), `${JSON.stringify({ brokers, secure })}\n`);
}

async function readOrCreateClusterId(dataDir: string): Promise<string> {
  const file = join(dataDir, "cluster.id");
  if (existsSync(file)) return (await Deno.readTextFile(file)).trim();
  await Deno.mkdir(dataDir, { recursive: true });
  const id = newClusterId(() => crypto.getRandomValues(new Uint8Array(16)));
  await Deno.writeTextFile(file, `${id}\n`);
  return id;
}

function spawnJava(args: string[], consoleLog: string): Deno.ChildProcess {
  let child: Deno.ChildProcess;
  try {
    child = javaCommand(args).spawn();
  } catch (error) {
    throw explainJavaFailure(error);
  }
  // Keep what the JVM prints before Log4j takes over (a bad classpath, a port in use) in console.log.
  const file = Deno.openSync(consoleLog, { create: true, append: true });
  const writer = new WritableStream<Uint8Array>({ write: (chunk) => void file.writeSync(chunk) });
  child.stdout.pipeTo(writer, { preventClose: true }).catch(() => {});
  child.stderr.pipeTo(writer, { preventClose: true }).catch(() => {});
  return child;
}

async function runJava(args: string[], purpose: string): Promise<void> {
  const { success, code, stdout, stderr } = await javaCommand(args).output().catch((error) => {
    throw explainJavaFailure(error);
  });
  if (!success) {
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    throw new TaskError(`Cannot ${purpose}: java exited with code ${code}\n${output.trim()}`);
  }
}

function javaCommand(args: string[]): Deno.Command {
  return new Deno.Command("java", { args, stdin: "null", stdout: "piped", stderr: "piped" });
}

function explainJavaFailure(error: unknown): unknown {
  if (!(error instanceof Deno.errors.NotFound)) return error;
  return new TaskError("Cannot start Kafka: java is not on PATH; install Java 17 or newer");
}

async function signal(pid: number, name: "TERM" | "KILL"): Promise<void> {
  // `kill` rather than Deno.kill: Deno.kill needs unscoped --allow-run, `kill` can be named in the allow list.
  await new Deno.Command("kill", { args: [`-${name}`, String(pid)], stdout: "null", stderr: "null" }).output();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
