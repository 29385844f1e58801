/** `deno task kafka` and `deno task topics` against a real broker: lifecycle, persistence, idempotent topics. */
import assert from "node:assert/strict";
import { createKafka } from "../../tasks/lib/kafka/client.ts";
import { DLQ_TOPIC, TRADES_TOPIC } from "../../tasks/lib/kafka/topics.ts";
import { runningPid } from "../../tasks/lib/kafka/local_cluster.ts";
import { freePortRun, startTestBroker, testBrokerNodes } from "../helpers/broker.ts";
import { makeTestDir, runDenoTask } from "../helpers/tasks.ts";

const kafkaTest = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "kafka task starts, reports, restarts with data kept, and stops leaving no JVM (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    const [node] = testBrokerNodes(broker);
    const pid = await runningPid(node!);
    assert.ok(pid, "a JVM runs after start");

    const again = await broker.kafka("start");
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already running/);

    const status = await broker.kafka("status");
    assert.equal(status.code, 0);
    assert.match(status.stdout, new RegExp(`node 1 +localhost:${broker.brokers[0]!.port} +running +pid ${pid}`));

    const topics = await runDenoTask(["topics"], broker.env);
    assert.equal(topics.code, 0, topics.stderr);
    const kafka = createKafka(broker.brokers, { quiet: true });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: TRADES_TOPIC,
      acks: -1,
      messages: [{ key: "BTCUSDT", value: "kept across restart" }],
    });
    await producer.disconnect();

    const stop = await broker.kafka("stop");
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await runningPid(node!), undefined);
    assert.ok(!await processExists(pid), `pid ${pid} is gone after stop`);
    const stopped = await broker.kafka("status");
    assert.equal(stopped.code, 3);
    assert.match(stopped.stdout, /stopped/);

    const restart = await broker.kafka("start");
    assert.equal(restart.code, 0, restart.stderr);
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(TRADES_TOPIC);
    await admin.disconnect();
    assert.equal(offsets.reduce((sum, p) => sum + Number(p.high), 0), 1, "the message survived stop and start");

    const logs = await broker.kafka("logs");
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, /Kafka Server started|KafkaRaftServer|started/i);
  },
);

Deno.test(
  "topics task creates both topics once, with the partitions and configs asked (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    const env = {
      ...broker.env,
      KAFKA_TOPIC_PARTITIONS: "4",
      KAFKA_RETENTION_HOURS: "2",
      KAFKA_DLQ_RETENTION_HOURS: "-1",
    };

    const first = await runDenoTask(["topics"], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`${TRADES_TOPIC}: created`));
    assert.match(first.stdout, new RegExp(`${DLQ_TOPIC}: created`));

    const second = await runDenoTask(["topics"], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`${TRADES_TOPIC}: unchanged\n${DLQ_TOPIC}: unchanged`));

    const admin = createKafka(broker.brokers, { quiet: true }).admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [TRADES_TOPIC, DLQ_TOPIC] });
      for (const topic of metadata.topics) assert.equal(topic.partitions.length, 4, topic.name);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: TRADES_TOPIC }, { type: 2, name: DLQ_TOPIC }],
      });
      const value = (topic: string, name: string) =>
        configs.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === name)
          ?.configValue;
      assert.equal(value(TRADES_TOPIC, "retention.ms"), String(2 * 3_600_000));
      assert.equal(value(DLQ_TOPIC, "retention.ms"), "-1");
      assert.equal(value(TRADES_TOPIC, "min.insync.replicas"), "1");
    } finally {
      await admin.disconnect();
    }

    const changed = await runDenoTask(["topics"], { ...env, KAFKA_RETENTION_HOURS: "3" });
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, new RegExp(`${TRADES_TOPIC}: updated; config .*retention.ms=${3 * 3_600_000}`));
  },
);

Deno.test("topics task fails in one line when no broker answers", async () => {
  const result = await runDenoTask(["topics"], { KAFKA_BROKERS: "localhost:1" });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^topics: Cannot create topics on localhost:1: is Kafka running\?/m);
});

async function processExists(pid: number): Promise<boolean> {
  const { stdout } = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const state = new TextDecoder().decode(stdout).trim();
  return state !== "" && !state.startsWith("Z"); // a zombie has exited; only its parent has yet to reap it
}

Deno.test(
  "kafka task runs a 3-node cluster with --nodes 3, stops and starts one node, and stops them all (real brokers)",
  kafkaTest,
  async () => {
    const base = freePortRun(6);
    const dataDir = await makeTestDir("kafka-3");
    const env = { KAFKA_BROKERS: `localhost:${base}`, KAFKA_DATA_DIR: dataDir, KAFKA_HEAP: "256m" };
    const kafka = (...args: string[]) => runDenoTask(["kafka", ...args], env);
    const addresses = [0, 2, 4].map((offset) => `localhost:${base + offset}`);
    try {
      const start = await kafka("start", "--nodes", "3");
      assert.equal(start.code, 0, start.stdout + start.stderr);
      assert.match(start.stdout, new RegExp(`Kafka is ready on ${addresses.join(",")}`));
      const topics = await runDenoTask(["topics"], {
        ...env,
        KAFKA_REPLICATION_FACTOR: "3",
        KAFKA_MIN_INSYNC_REPLICAS: "2",
      });
      assert.equal(topics.code, 0, topics.stderr);

      // stop and status find all three nodes without being told --nodes again.
      const status = await kafka("status");
      assert.equal(status.code, 0, status.stdout);
      assert.equal(status.stdout.match(/running/g)?.length, 3, status.stdout);

      const stopTwo = await kafka("stop", "--node", "2");
      assert.equal(stopTwo.code, 0, stopTwo.stderr);
      const degraded = await kafka("status");
      assert.equal(degraded.code, 3);
      assert.match(degraded.stdout, new RegExp(`node 2 +${addresses[1]} +stopped`));

      // Two of three replicas are in sync: acks=all still succeeds (min.insync.replicas=2).
      const client = createKafka(
        addresses.filter((_, i) => i !== 1).map((a) => ({ host: "localhost", port: Number(a.split(":")[1]) })),
        { quiet: true },
      );
      const producer = client.producer({ idempotent: true });
      await producer.connect();
      await producer.send({ topic: TRADES_TOPIC, acks: -1, messages: [{ key: "BTCUSDT", value: "with a node down" }] });
      await producer.disconnect();

      const startTwo = await kafka("start", "--node", "2");
      assert.equal(startTwo.code, 0, startTwo.stdout + startTwo.stderr);
      assert.equal((await kafka("status")).code, 0);
    } finally {
      const stop = await kafka("stop");
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(stop.stdout.match(/Stopped Kafka node/g)?.length, 3, stop.stdout);
    }
  },
);
