import assert from "node:assert/strict";
import { loadTopicConfig } from "../../../../tasks/lib/config.ts";
import { DLQ_TOPIC, topicSpecs, TRADES_TOPIC } from "../../../../tasks/lib/kafka/topics.ts";

Deno.test("topicSpecs() describes the trades topic and its dead-letter topic", () => {
  const config = loadTopicConfig(new Map([["KAFKA_REPLICATION_FACTOR", "3"], ["KAFKA_MIN_INSYNC_REPLICAS", "2"]]));
  const [trades, dlq] = topicSpecs(config);
  assert.equal(trades?.topic, TRADES_TOPIC);
  assert.equal(TRADES_TOPIC, "crypto.trades.v1");
  assert.equal(dlq?.topic, DLQ_TOPIC);
  assert.equal(DLQ_TOPIC, "crypto.trades.dlq.v1");
  assert.equal(trades?.numPartitions, 3);
  assert.equal(trades?.replicationFactor, 3);
  assert.deepEqual(trades?.configEntries, [
    { name: "cleanup.policy", value: "delete" },
    { name: "retention.ms", value: String(168 * 3_600_000) },
    { name: "min.insync.replicas", value: "2" },
    { name: "message.timestamp.type", value: "LogAppendTime" },
  ]);
  assert.equal(dlq?.configEntries?.find((e) => e.name === "retention.ms")?.value, String(720 * 3_600_000));
});

Deno.test("topicSpecs() keeps -1 retention as forever", () => {
  const [trades] = topicSpecs(loadTopicConfig(new Map([["KAFKA_RETENTION_HOURS", "-1"]])));
  assert.equal(trades?.configEntries?.find((e) => e.name === "retention.ms")?.value, "-1");
});

Deno.test("topicSpecs() describes every market's topics with the same configs", () => {
  const specs = topicSpecs(loadTopicConfig(new Map()));
  assert.deepEqual(specs.map((s) => s.topic), [
    "crypto.trades.v1",
    "crypto.trades.dlq.v1",
    "crypto.trades.usdm.v1",
    "crypto.trades.usdm.dlq.v1",
  ]);
  assert.deepEqual(specs[2]?.configEntries, specs[0]?.configEntries);
  assert.deepEqual(specs[3]?.configEntries, specs[1]?.configEntries);
  assert.equal(specs[2]?.numPartitions, specs[0]?.numPartitions);
});
