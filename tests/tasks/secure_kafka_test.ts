/**
 * Secure Kafka on a real broker (`kafka start --secure`: SASL_SSL with SCRAM-SHA-512, TLS between nodes, ACLs):
 * exchange → producer (as `producer`) → Kafka → consumer (as `consumer`) → lake, every trade once; each mistake a
 * user will make answered in one line with exit code 2 and no stack trace; no secret in any output.
 */
import assert from "node:assert/strict";
import { startExchange } from "../../tasks/lib/exchange/server.ts";
import { ensureClusterSecrets } from "../../tasks/lib/kafka/cluster_secrets.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { secureClientEnv, startTestBroker } from "../helpers/broker.ts";
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

      // The pipeline, each component as its own user.
      const producer = spawnTask("producer", { ...secureClientEnv(broker, "producer"), ...feed, LOG_FORMAT: "text" });
      const consumer = spawnTask("consumer", { ...secureClientEnv(broker, "consumer"), ...feed, LOG_FORMAT: "text" });
      const logs = [collectOutput(producer), collectOutput(consumer)];
      await new Promise((resolve) => setTimeout(resolve, 8000));
      producer.kill("SIGTERM");
      assert.equal((await producer.status).code, 0, logs[0]!.text());
      await logs[0]!.done;
      const summary = JSON.parse(logs[0]!.text().split("\n").find((l) => l.includes('"producer_summary"'))!);
      const sent = summary.trades.BTCUSDT as number;
      assert.ok(sent > 100, `the producer sent trades: ${sent}`);
      let rows: { n: number; ids: number }[] = [];
      for (let i = 0; i < 60; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        rows = await queryRows(
          `select count(*)::integer as n, count(distinct trade_id)::integer as ids
           from read_parquet('${PROJECT_ROOT}/${lakeDir}/**/*.parquet', hive_partitioning = true)`,
        ).catch(() => [{ n: 0, ids: 0 }]) as typeof rows;
        if (Number(rows[0]?.n) >= sent) break;
      }
      try {
        consumer.kill("SIGTERM");
      } catch { /* exited: its code says why */ }
      assert.equal((await consumer.status).code, 0, logs[1]!.text());
      await logs[1]!.done;
      assert.deepEqual(rows, [{ n: sent, ids: sent }], "every trade in the lake once");
      outputs.push(logs[0]!.text(), logs[1]!.text());

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

      // No password of the cluster in anything printed.
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
      for (const dir of [lakeDir, stateDir, otherCa]) {
        await Deno.remove(`${PROJECT_ROOT}/${dir}`, { recursive: true }).catch(() => {});
      }
    }
  },
);
