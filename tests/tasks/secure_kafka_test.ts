/**
 * Secure Kafka on a real broker (`kafka start --secure`: SASL_SSL with SCRAM-SHA-512, TLS between nodes, ACLs):
 * exchange → producer (as `producer`) → Kafka → consumer (as `consumer`) → lake → refresh under `deno task start`,
 * every trade once; each mistake a user will make answered in one line with exit code 2 and no stack trace; no
 * secret in any output, log, state file, status or metrics.
 */
import assert from "node:assert/strict";
import { startExchange } from "../../tasks/lib/exchange/server.ts";
import { ensureClusterSecrets } from "../../tasks/lib/kafka/cluster_secrets.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { nodeFiles } from "../../tasks/lib/kafka/broker_config.ts";
import { freePortPair, secureClientEnv, startTestBroker, testBrokerNodes } from "../helpers/broker.ts";
import { queryRows } from "../helpers/duckdb.ts";
import { collectOutput, runDenoTask, spawnTask } from "../helpers/tasks.ts";

Deno.test(
  "secure Kafka: the pipeline runs as its least-privileged users, every mistake gets one line, no secret is printed",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    await using broker = await startTestBroker({ secure: true });
    const id = crypto.randomUUID();
    const lakeDir = `data/parquet/test-${id}`;
    const stateDir = `data/producer/test-${id}`;
    const otherCa = `data/secrets/test-other-ca-${id}`;
    const runDir = `data/run/test-${id}`;
    const databaseDir = `data/duckdb/test-${id}`;
    await Deno.mkdir(`${PROJECT_ROOT}/${stateDir}`, { recursive: true });
    const exchange = await startExchange({ port: 0, symbols: ["BTCUSDT"], seed: 7, rate: 40, startId: 1_000 });
    const outputs: string[] = [];
    const run = async (args: string[], env: Record<string, string>) => {
      const result = await runDenoTask(args, { LOG_FORMAT: "text", ...env });
      outputs.push(result.stdout, result.stderr);
      return result;
    };
    const feed = {
      BINANCE_WS_URL: `ws://127.0.0.1:${exchange.port}`,
      BINANCE_REST_URL: `http://127.0.0.1:${exchange.port}`,
      SYMBOLS: "BTCUSDT",
      PRODUCER_STATE_PATH: `${stateDir}/state.json`,
      PRODUCER_METRICS_PORT: "0",
      CONSUMER_METRICS_PORT: "0",
      LAKE_DIR: lakeDir,
    };
    try {
      const topics = await run(["topics"], secureClientEnv(broker, "admin"));
      assert.equal(topics.code, 0, topics.stdout + topics.stderr);
      assert.match(topics.stdout, /^ACLs: \d+ granted to the users producer and consumer$/m);

      // The pipeline under the supervisor: the producer and the consumer each log in as their own user.
      const live = {
        ...broker.env,
        ...feed,
        KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
        KAFKA_SSL_CA_FILE: `${broker.env.KAFKA_SECRETS_DIR}/ca.pem`,
        RUN_DIR: runDir,
        DUCKDB_PATH: `${databaseDir}/crypto.duckdb`,
        REFRESH_EVERY: "3s",
        LIVE_REPORT: "0",
        PRODUCER_METRICS_PORT: String(freePortPair()),
        CONSUMER_METRICS_PORT: String(freePortPair()),
      };
      const started = await run(["start"], live);
      assert.equal(started.code, 0, started.stdout + started.stderr);
      const record = () => JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}/${runDir}/supervisor.json`));
      await until(
        () => record().refresh.last?.ok === true && /refresh: (full|incremental)/.test(record().refresh.last.summary),
        60_000,
      );
      for (const port of [live.PRODUCER_METRICS_PORT, live.CONSUMER_METRICS_PORT]) {
        outputs.push(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      }
      outputs.push((await run(["status", "--json"], live)).stdout);
      const stopped = await run(["stop"], live);
      assert.equal(stopped.code, 0, stopped.stdout + stopped.stderr);
      const supervisorLog = Deno.readTextFileSync(`${PROJECT_ROOT}/${runDir}/supervisor.log`);
      outputs.push(supervisorLog, Deno.readTextFileSync(`${PROJECT_ROOT}/${runDir}/supervisor.json`));
      assert.doesNotMatch(supervisorLog, /exited with code/, "no component failed");
      const summaryLine = supervisorLog.split("\n").find((line) => line.includes('"producer_summary"'))!;
      const sent = JSON.parse(summaryLine.slice(summaryLine.indexOf("{"))).trades.BTCUSDT as number;
      assert.ok(sent > 100, `the producer sent trades: ${sent}`);

      // What the supervised consumer had not written yet, the consumer alone (as itself) writes: every trade once.
      const consumer = spawnTask("consumer", { ...secureClientEnv(broker, "consumer"), ...feed, LOG_FORMAT: "text" });
      const drained = collectOutput(consumer);
      await until(() => drained.text().includes("consumer: "), 30_000); // its signal handler is in place
      let rows: { n: number; ids: number }[] = [];
      await until(async () => {
        rows = await queryRows(
          `select count(*)::integer as n, count(distinct trade_id)::integer as ids
           from read_parquet('${PROJECT_ROOT}/${lakeDir}/**/*.parquet', hive_partitioning = true)`,
        ).catch(() => [{ n: 0, ids: 0 }]) as typeof rows;
        return Number(rows[0]?.n) >= sent;
      }, 60_000).catch(() => {});
      try {
        consumer.kill("SIGTERM");
      } catch { /* exited: its code says why */ }
      assert.equal((await consumer.status).code, 0, drained.text());
      await drained.done;
      assert.deepEqual(rows, [{ n: sent, ids: sent }], "every trade in the lake once");
      outputs.push(drained.text());

      // Each mistake: one line, exit 2, no stack trace. (From the saved state: nothing to replay, the first send is
      // what a consumer's principal is refused.)
      await Deno.copyFile(`${PROJECT_ROOT}/${stateDir}/state.json`, `${PROJECT_ROOT}/${stateDir}/refused.json`);
      const refused = async (task: string, env: Record<string, string>, message: RegExp) => {
        const result = await run([task], { ...feed, ...env, PRODUCER_STATE_PATH: `${stateDir}/refused.json` });
        assert.equal(result.code, 2, `${task}: ${result.stdout}${result.stderr}`);
        const last = result.stderr.trim().split("\n").at(-1)!;
        assert.match(last, message);
        assert.doesNotMatch(result.stdout + result.stderr, /^\s+at /m, "no stack trace");
      };
      await refused(
        "producer",
        secureClientEnv(broker, "consumer"),
        /^producer: Kafka at .* denied user "consumer" Write on topic crypto\.trades\.v1 \(TOPIC_AUTHORIZATION_FAILED\)/,
      );
      await refused("consumer", secureClientEnv(broker, "producer"), /^consumer: .*Read on group crypto-lake-writer/);
      await refused(
        "consumer",
        {
          ...secureClientEnv(broker, "consumer"),
          KAFKA_SASL_PASSWORD_FILE: "",
          KAFKA_SASL_PASSWORD: "not-the-password",
        },
        /^consumer: Kafka at .* refused the login of user "consumer" \(SCRAM-SHA-512\): wrong password or unknown user/,
      );
      await refused(
        "producer",
        { ...secureClientEnv(broker, "producer"), KAFKA_SASL_USERNAME: "mallory" },
        /^producer: Kafka at .* refused the login of user "mallory"/,
      );
      await ensureClusterSecrets(`${PROJECT_ROOT}/${otherCa}`, () => {}, "another CA");
      await refused(
        "consumer",
        { ...secureClientEnv(broker, "consumer"), KAFKA_SSL_CA_FILE: `${otherCa}/ca.pem` },
        /^consumer: Kafka at .* presented a certificate that the CA in KAFKA_SSL_CA_FILE .* does not vouch for/,
      );
      await refused(
        "consumer",
        { ...broker.env, KAFKA_SECURITY_PROTOCOL: "PLAINTEXT" },
        /^consumer: Kafka at .* speaks TLS, but KAFKA_SECURITY_PROTOCOL is PLAINTEXT/,
      );
      await refused(
        "topics",
        { ...secureClientEnv(broker, "consumer"), KAFKA_SASL_MECHANISM: "GSSAPI" },
        /^topics: KAFKA_SASL_MECHANISM="GSSAPI" is invalid/,
      );

      // No password of the cluster in anything printed: the tasks' output, the supervisor's log and state, status,
      // metrics, and the brokers' own logs.
      for (const node of testBrokerNodes(broker)) {
        for (const file of [nodeFiles(node).serverLog, nodeFiles(node).consoleLog]) {
          outputs.push(await Deno.readTextFile(file).catch(() => ""));
        }
      }
      const dir = `${PROJECT_ROOT}/${broker.env.KAFKA_SECRETS_DIR}`;
      const secrets = [];
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.endsWith(".password")) secrets.push((await Deno.readTextFile(`${dir}/${entry.name}`)).trim());
      }
      assert.equal(secrets.length, 5);
      const printed = outputs.join("\n");
      for (const secret of [...secrets, "not-the-password"]) {
        assert.ok(!printed.includes(secret), "a secret was printed");
      }
    } finally {
      await exchange.shutdown();
      await runDenoTask(["stop"], { RUN_DIR: runDir });
      for (const dir of [lakeDir, stateDir, otherCa, runDir, databaseDir]) {
        await Deno.remove(`${PROJECT_ROOT}/${dir}`, { recursive: true }).catch(() => {});
      }
    }
  },
);

/** Polls `check` until it holds, or fails after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Gave up waiting after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
