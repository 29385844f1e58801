/**
 * A real single-node Kafka for one test file: free loopback ports, its own data folder, started and stopped
 * through `deno task kafka`, so tests never depend on a broker left running.
 */
import { type BrokerAddress, loadKafkaConfig } from "../../tasks/lib/config.ts";
import { localNodes } from "../../tasks/lib/kafka/local_cluster.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { makeTestDir, runDenoTask, type TaskResult } from "./tasks.ts";

/** A running test broker. */
export interface TestBroker {
  brokers: BrokerAddress[];
  /** The environment that points tasks at this broker. */
  env: Record<string, string>;
  dataDir: string;
  /** Runs `deno task kafka <command>` against this broker. */
  kafka(command: string): Promise<TaskResult>;
  /** Stops the broker and deletes its data. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Two adjacent free loopback ports: the broker's and its controller's. */
export function freePortPair(): number {
  return freePortRun(2);
}

/**
 * `count` consecutive free loopback ports, for a cluster of count / 2 nodes; returns the first. They are chosen
 * below the kernel's ephemeral range: a port free now but inside it can be taken by any outbound connection (one
 * broker of a starting cluster connecting to another) in the seconds before a JVM binds it, which CI saw happen.
 */
export function freePortRun(count: number): number {
  const below = ephemeralPortsStart();
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (below - 20_000 - count));
    const listeners: Deno.Listener[] = [];
    try {
      for (let port = first; port < first + count; port++) listeners.push(Deno.listen({ hostname: "127.0.0.1", port }));
      return first;
    } catch {
      // one of them is taken; try elsewhere
    } finally {
      for (const listener of listeners) listener.close();
    }
  }
  throw new Error(`Cannot find ${count} consecutive free ports on 127.0.0.1`);
}

/** The first port the kernel hands out to outbound connections (Linux; 32768, its default, elsewhere). */
function ephemeralPortsStart(): number {
  try {
    const first = Number(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 21_000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * Starts a broker on free ports; `await using` stops it even when the test fails. `secure`: SASL_SSL with ACLs
 * (`kafka start --secure`), its secrets in a folder of its own under data/secrets/ (where clients may read them).
 */
export async function startTestBroker(options: { secure?: boolean } = {}): Promise<TestBroker> {
  const port = freePortPair();
  const dataDir = await makeTestDir("kafka");
  const secretsDir = `data/secrets/test-${crypto.randomUUID()}`;
  const env: Record<string, string> = {
    KAFKA_BROKERS: `localhost:${port}`,
    KAFKA_DATA_DIR: dataDir,
    KAFKA_HEAP: "384m",
    ...(options.secure ? { KAFKA_SECRETS_DIR: secretsDir } : {}),
  };
  const kafka = (command: string) =>
    runDenoTask(["kafka", command, ...(options.secure && command === "start" ? ["--secure"] : [])], env);
  const broker: TestBroker = {
    brokers: [{ host: "localhost", port }],
    env,
    dataDir,
    kafka,
    async [Symbol.asyncDispose]() {
      const stopped = await kafka("stop");
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      if (options.secure) await Deno.remove(`${PROJECT_ROOT}/${secretsDir}`, { recursive: true }).catch(() => {});
      if (stopped.code !== 0) throw new Error(`kafka stop failed: ${stopped.stderr}`);
    },
  };
  const started = await kafka("start");
  if (started.code !== 0) {
    await broker[Symbol.asyncDispose]().catch(() => {});
    throw new Error(`kafka start failed (${started.code}): ${started.stdout}${started.stderr}`);
  }
  return broker;
}

/** The broker nodes of a test broker, for checks that look at processes. */
export function testBrokerNodes(broker: TestBroker) {
  return localNodes(loadKafkaConfig(new Map(Object.entries(broker.env))), PROJECT_ROOT);
}

/** The client settings of one of a secure test broker's users. */
export function secureClientEnv(broker: TestBroker, user: "admin" | "producer" | "consumer"): Record<string, string> {
  const dir = broker.env.KAFKA_SECRETS_DIR!;
  return {
    ...broker.env,
    KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: `${dir}/${user}.password`,
    KAFKA_SSL_CA_FILE: `${dir}/ca.pem`,
  };
}
