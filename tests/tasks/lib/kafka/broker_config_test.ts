import assert from "node:assert/strict";
import {
  brokerCommand,
  clusterId,
  clusterNodes,
  expandBrokers,
  log4jProperties,
  newClusterId,
  serverProperties,
} from "../../../../tasks/lib/kafka/broker_config.ts";

const properties = (text: string) =>
  Object.fromEntries(text.split("\n").filter((l) => l.includes("=") && !l.startsWith("#")).map((l) => l.split("=", 2)));

Deno.test("clusterNodes() gives each broker a node id, a folder and a controller port one above", () => {
  assert.deepEqual(clusterNodes([{ host: "localhost", port: 9092 }], "/d"), [
    { nodeId: 1, host: "localhost", port: 9092, controllerPort: 9093, dir: "/d/node-1" },
  ]);
});

Deno.test("clusterNodes() refuses brokers whose ports collide with a controller port", () => {
  assert.throws(
    () => clusterNodes([{ host: "localhost", port: 9092 }, { host: "localhost", port: 9093 }], "/d"),
    /port 9093 is used twice/,
  );
});

Deno.test("serverProperties() makes a single node a complete KRaft cluster", () => {
  const [node] = clusterNodes([{ host: "localhost", port: 9092 }], "/d");
  const props = properties(serverProperties(node!, [node!]));
  assert.equal(props["process.roles"], "broker,controller");
  assert.equal(props["controller.quorum.voters"], "1@localhost:9093");
  assert.equal(props["listeners"], "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093");
  assert.equal(props["advertised.listeners"], "PLAINTEXT://localhost:9092");
  assert.equal(props["offsets.topic.replication.factor"], "1");
  assert.equal(props["transaction.state.log.min.isr"], "1");
  assert.equal(props["auto.create.topics.enable"], "false");
  assert.equal(props["log.dirs"], "/d/node-1/log-segments");
});

Deno.test("serverProperties() lists every voter and replicates internal topics on three nodes", () => {
  const nodes = clusterNodes([9092, 9094, 9096].map((port) => ({ host: "localhost", port })), "/d");
  const props = properties(serverProperties(nodes[1]!, nodes));
  assert.equal(props["node.id"], "2");
  assert.equal(props["controller.quorum.voters"], "1@localhost:9093,2@localhost:9095,3@localhost:9097");
  assert.equal(props["offsets.topic.replication.factor"], "3");
  assert.equal(props["transaction.state.log.min.isr"], "2");
});

Deno.test("log4jProperties() sends the broker's log to server.log in the node folder", () => {
  const [node] = clusterNodes([{ host: "localhost", port: 9092 }], "/d");
  assert.match(log4jProperties(node!), /^appender\.file\.fileName = \/d\/node-1\/server\.log$/m);
});

Deno.test("brokerCommand() marks the JVM with its node folder and runs kafka.Kafka", () => {
  const [node] = clusterNodes([{ host: "localhost", port: 9092 }], "/d");
  const args = brokerCommand(node!, "/lib", "384m");
  assert.ok(args.includes("-Dcrypto.pipeline.node=/d/node-1"));
  assert.ok(args.includes("-Xmx384m"));
  assert.deepEqual(args.slice(-4), ["-cp", "/lib/*", "kafka.Kafka", "/d/node-1/server.properties"]);
});

Deno.test("clusterId() encodes 16 bytes as 22 URL-safe base64 characters", () => {
  assert.equal(clusterId(new Uint8Array(16).fill(255)), "_____________________w");
  assert.match(clusterId(crypto.getRandomValues(new Uint8Array(16))), /^[A-Za-z0-9_-]{22}$/);
  assert.throws(() => clusterId(new Uint8Array(8)), RangeError);
});

Deno.test("newClusterId() never starts with a dash, which the storage tool would take for an option", () => {
  const draws = [new Uint8Array(16).fill(0xf8), new Uint8Array(16).fill(1)]; // 0xf8… encodes as "-…"
  assert.ok(clusterId(draws[0]!).startsWith("-"));
  assert.equal(newClusterId(() => draws.shift()!), clusterId(new Uint8Array(16).fill(1)));
});

Deno.test("expandBrokers() places nodes two ports apart on the first broker's host", () => {
  assert.deepEqual(expandBrokers({ host: "localhost", port: 9092 }, 3), [
    { host: "localhost", port: 9092 },
    { host: "localhost", port: 9094 },
    { host: "localhost", port: 9096 },
  ]);
  assert.deepEqual(expandBrokers({ host: "127.0.0.1", port: 19092 }, 1), [{ host: "127.0.0.1", port: 19092 }]);
});
