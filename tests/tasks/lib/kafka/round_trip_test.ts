/** kafkajs under Deno against the pinned Kafka: idempotent produce, consumer-group consume, committed offsets. */
import assert from "node:assert/strict";
import { createKafka } from "../../../../tasks/lib/kafka/client.ts";
import { TRADES_TOPIC } from "../../../../tasks/lib/kafka/topics.ts";
import { startTestBroker } from "../../../helpers/broker.ts";
import { runDenoTask } from "../../../helpers/tasks.ts";

const MESSAGES = 10_000;
const KEYS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT"];

Deno.test(
  "kafkajs round trip: 10,000 keyed messages come back exactly once, in order per key (real broker)",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    await using broker = await startTestBroker();
    const topics = await runDenoTask(["topics"], broker.env);
    assert.equal(topics.code, 0, topics.stderr);
    const kafka = createKafka(broker.brokers, { quiet: true });

    const produced = Array.from({ length: MESSAGES }, (_, index) => {
      const key = KEYS[index % KEYS.length]!;
      return { key, value: `${key}:${index}` };
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Sequential awaited batches: kafkajs's idempotent producer loses messages under concurrent sends (#1005).
    for (let start = 0; start < produced.length; start += 1000) {
      await producer.send({ topic: TRADES_TOPIC, acks: -1, messages: produced.slice(start, start + 1000) });
    }
    await producer.disconnect();

    const groupId = `round-trip-${crypto.randomUUID()}`;
    const consumer = kafka.consumer({ groupId });
    const consumed: { key: string; value: string; partition: number }[] = [];
    let resolveAll: () => void;
    const all = new Promise<void>((resolve) => resolveAll = resolve);
    await consumer.connect();
    await consumer.subscribe({ topic: TRADES_TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message, partition }) => {
        consumed.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
        if (consumed.length === MESSAGES) resolveAll();
        return Promise.resolve();
      },
    });
    const timeout = setTimeout(() => resolveAll(), 60_000);
    await all;
    clearTimeout(timeout);
    await consumer.disconnect(); // commits the offsets of everything processed

    assert.equal(consumed.length, MESSAGES, "every message consumed, none twice");
    assert.deepEqual(new Set(consumed.map((m) => m.value)), new Set(produced.map((m) => m.value)));
    for (const key of KEYS) {
      const order = consumed.filter((m) => m.key === key).map((m) => Number(m.value.split(":")[1]));
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `${key} keeps its order`);
      assert.equal(
        new Set(consumed.filter((m) => m.key === key).map((m) => m.partition)).size,
        1,
        `${key} in one partition`,
      );
    }

    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [TRADES_TOPIC] });
    const ends = await admin.fetchTopicOffsets(TRADES_TOPIC);
    await admin.disconnect();
    for (const end of ends.filter((partition) => partition.high !== "0")) {
      const offset = committed!.partitions.find((p) => p.partition === end.partition)?.offset;
      assert.equal(offset, end.high, `group committed partition ${end.partition} to its end`);
    }
  },
);
