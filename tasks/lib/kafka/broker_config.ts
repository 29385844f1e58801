/**
 * Pure description of a local KRaft cluster: which nodes, where they live, and the files each one runs with.
 *
 * Every node is a combined broker + controller. Voters are static (`controller.quorum.voters`), so one node and
 * three nodes are formatted and started the same way.
 */
import { join } from "node:path";
import type { BrokerAddress } from "../config.ts";

/** One local broker + controller. */
export interface BrokerNode {
  nodeId: number;
  host: string;
  port: number;
  controllerPort: number;
  /** Absolute folder holding this node's config, PID, console output and log segments. */
  dir: string;
}

/** The controller listens one port above the broker, so `localhost:9092` means controller `localhost:9093`. */
export function clusterNodes(brokers: BrokerAddress[], dataDir: string): BrokerNode[] {
  const nodes = brokers.map((broker, index) => ({
    nodeId: index + 1,
    host: broker.host,
    port: broker.port,
    controllerPort: broker.port + 1,
    dir: join(dataDir, `node-${index + 1}`),
  }));
  const ports = nodes.flatMap((node) => [node.port, node.controllerPort]);
  const clash = ports.find((port, index) => ports.indexOf(port) !== index);
  if (clash !== undefined) {
    throw new RangeError(`Cannot place local brokers: port ${clash} is used twice (each broker also takes port + 1)`);
  }
  return nodes;
}

/**
 * `count` brokers on `first`'s host, two ports apart from `first`'s (each also takes port + 1 for its controller):
 * `localhost:9092` × 3 is `localhost:9092`, `localhost:9094`, `localhost:9096`.
 */
export function expandBrokers(first: BrokerAddress, count: number): BrokerAddress[] {
  return Array.from({ length: count }, (_, index) => ({ host: first.host, port: first.port + 2 * index }));
}

/** Paths of the files a node works with. */
export function nodeFiles(node: BrokerNode) {
  return {
    serverProperties: join(node.dir, "server.properties"),
    log4jProperties: join(node.dir, "log4j2.properties"),
    logSegments: join(node.dir, "log-segments"),
    pid: join(node.dir, "broker.pid"),
    serverLog: join(node.dir, "server.log"),
    consoleLog: join(node.dir, "console.log"),
  };
}

/**
 * What a secure node needs: its keystore (the broker certificate), the truststore (the CA), their password, and the
 * brokers' own SCRAM login for the traffic between them.
 */
export interface BrokerSecurity {
  keystore: string;
  truststore: string;
  storePassword: string;
  brokerUser: string;
  brokerPassword: string;
  /** Principals allowed everything (the brokers themselves and the admin). */
  superUsers: string[];
}

/**
 * The listener settings of a node: PLAINTEXT everywhere, or (secure) SASL_SSL with SCRAM-SHA-512 for clients and
 * between brokers, mutual TLS on the controller listener, and the StandardAuthorizer denying what no ACL allows.
 */
export function listenerSettings(
  node: BrokerNode,
  security: BrokerSecurity | undefined,
): Record<string, string | number | boolean> {
  if (security === undefined) {
    return {
      "listeners": `PLAINTEXT://${node.host}:${node.port},CONTROLLER://${node.host}:${node.controllerPort}`,
      "advertised.listeners": `PLAINTEXT://${node.host}:${node.port}`,
      "inter.broker.listener.name": "PLAINTEXT",
      "controller.listener.names": "CONTROLLER",
      "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    };
  }
  const jaasValue = (text: string) => text.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
  return {
    "listeners": `SASL_SSL://${node.host}:${node.port},CONTROLLER://${node.host}:${node.controllerPort}`,
    "advertised.listeners": `SASL_SSL://${node.host}:${node.port}`,
    "inter.broker.listener.name": "SASL_SSL",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "CONTROLLER:SSL,SASL_SSL:SASL_SSL",
    "sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
    "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
      `org.apache.kafka.common.security.scram.ScramLoginModule required username="${
        jaasValue(security.brokerUser)
      }" password="${jaasValue(security.brokerPassword)}";`,
    "ssl.keystore.type": "PKCS12",
    "ssl.keystore.location": security.keystore,
    "ssl.keystore.password": security.storePassword,
    "ssl.key.password": security.storePassword,
    "ssl.truststore.type": "PKCS12",
    "ssl.truststore.location": security.truststore,
    "ssl.truststore.password": security.storePassword,
    // Controllers accept only nodes holding a certificate of the cluster's CA; its CN is their principal.
    "listener.name.controller.ssl.client.auth": "required",
    "ssl.principal.mapping.rules": "RULE:^CN=([^,]+)$/$1/,DEFAULT",
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": false,
    "super.users": security.superUsers.map((user) => `User:${user}`).join(";"),
  };
}

/** `server.properties` for one node of `cluster`, with the settings a cluster smaller than three needs. */
export function serverProperties(node: BrokerNode, cluster: BrokerNode[], security?: BrokerSecurity): string {
  const files = nodeFiles(node);
  const internalReplication = Math.min(3, cluster.length);
  const settings: Record<string, string | number | boolean> = {
    "process.roles": "broker,controller",
    "node.id": node.nodeId,
    "controller.quorum.voters": cluster.map((n) => `${n.nodeId}@${n.host}:${n.controllerPort}`).join(","),
    ...listenerSettings(node, security),
    "log.dirs": files.logSegments,
    // Internal topics must fit the cluster, or group commits fail with "coordinator not available".
    "offsets.topic.replication.factor": internalReplication,
    "transaction.state.log.replication.factor": internalReplication,
    "transaction.state.log.min.isr": Math.min(2, internalReplication),
    "share.coordinator.state.topic.replication.factor": internalReplication,
    "share.coordinator.state.topic.min.isr": Math.min(2, internalReplication),
    "default.replication.factor": internalReplication,
    // Topics are created on purpose by `deno task topics`, never by a typo in a client.
    "auto.create.topics.enable": false,
    "group.initial.rebalance.delay.ms": 0,
    "num.partitions": 3,
    "log.retention.hours": 168,
    "log.segment.bytes": 256 * 1024 * 1024,
  };
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
  return `# Written by tasks/kafka.ts on every start; edit KAFKA_* settings instead.\n${lines.join("\n")}\n`;
}

/** Log4j 2 configuration: everything to `server.log`, rolled at 50 MB, three files kept. */
export function log4jProperties(node: BrokerNode): string {
  const log = nodeFiles(node).serverLog;
  return [
    "status = warn",
    "appender.file.type = RollingFile",
    "appender.file.name = file",
    `appender.file.fileName = ${log}`,
    `appender.file.filePattern = ${log}.%i`,
    "appender.file.layout.type = PatternLayout",
    "appender.file.layout.pattern = [%d] %p %m (%c)%n",
    "appender.file.policies.type = Policies",
    "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
    "appender.file.policies.size.size = 50MB",
    "appender.file.strategy.type = DefaultRolloverStrategy",
    "appender.file.strategy.max = 3",
    "rootLogger.level = INFO",
    "rootLogger.appenderRef.file.ref = file",
    "",
  ].join("\n");
}

/** A Kafka cluster id: 16 random bytes in URL-safe base64 without padding, as `kafka-storage random-uuid` prints. */
export function clusterId(randomBytes: Uint8Array): string {
  if (randomBytes.length !== 16) {
    throw new RangeError(`Cannot make a cluster id: need 16 bytes, got ${randomBytes.length}`);
  }
  let binary = "";
  for (const byte of randomBytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * A new cluster id from `randomBytes` (16 bytes per call). Like Kafka's own Uuid.randomUuid(), it never starts
 * with "-", which the storage tool's command line would read as an option.
 */
export function newClusterId(randomBytes: () => Uint8Array): string {
  for (;;) {
    const id = clusterId(randomBytes());
    if (!id.startsWith("-")) return id;
  }
}

/** JVM arguments that start one node; `marker` lets status checks recognise the process by its command line. */
export function brokerCommand(node: BrokerNode, libDir: string, heap: string): string[] {
  const files = nodeFiles(node);
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${files.log4jProperties}`,
    `-Dcrypto.pipeline.node=${node.dir}`,
    "-cp",
    join(libDir, "*"),
    "kafka.Kafka",
    files.serverProperties,
  ];
}

/**
 * The storage tool's `--add-scram` argument for one user: the salted password (PBKDF2 over SHA-512, as SCRAM
 * defines it) rather than the password, so the command line shows no secret.
 */
export async function scramCredential(
  user: string,
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations = 8192,
): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-512", salt, iterations }, key, 512),
  );
  const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  return `SCRAM-SHA-512=[name=${user},iterations=${iterations},salt="${base64(salt)}",saltedpassword="${
    base64(salted)
  }"]`;
}

/** JVM arguments that format a node's storage once, before its first start; `scram` adds SCRAM users. */
export function formatCommand(node: BrokerNode, libDir: string, id: string, scram: string[] = []): string[] {
  const files = nodeFiles(node);
  return [
    "-Xmx256m",
    `-Dlog4j2.configurationFile=${files.log4jProperties}`,
    "-cp",
    join(libDir, "*"),
    "kafka.tools.StorageTool",
    "format",
    "--cluster-id",
    id,
    "--config",
    files.serverProperties,
    "--ignore-formatted",
    ...scram.flatMap((credential) => ["--add-scram", credential]),
  ];
}
