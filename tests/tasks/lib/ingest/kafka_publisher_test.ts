import assert from "node:assert/strict";
import type { Producer, ProducerBatch } from "kafkajs";
import { KafkaPublisher, type QueuedMessage } from "../../../../tasks/lib/ingest/kafka_publisher.ts";

/** Records batches; fails the first `failures` sends; never answers when `hang` is set. */
function fakeProducer(options: { failures?: number; hang?: boolean } = {}) {
  const batches: ProducerBatch[] = [];
  let failures = options.failures ?? 0;
  const producer = {
    sendBatch(batch: ProducerBatch) {
      if (options.hang) return new Promise(() => {});
      if (failures-- > 0) return Promise.reject(new Error("broker away"));
      batches.push(batch);
      return Promise.resolve([]);
    },
  } as unknown as Producer;
  return { producer, batches };
}

const item = (n: number, topic = "t"): QueuedMessage<number> => ({
  topic,
  message: { key: "k", value: String(n), timestamp: "0", headers: {} },
  meta: n,
});

Deno.test("KafkaPublisher acknowledges every message once, in enqueue order, in batches", async () => {
  const { producer, batches } = fakeProducer();
  const acked: number[] = [];
  const publisher = new KafkaPublisher<number>(producer, {
    maxBatch: 3,
    onAcked: (m) => acked.push(...m.map((x) => x.meta)),
  });
  for (let n = 0; n < 8; n++) publisher.enqueue(item(n, n % 2 === 0 ? "a" : "b"));
  assert.equal(await publisher.close(), 0);
  assert.deepEqual(acked, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.ok(batches.every((b) => b.topicMessages!.reduce((sum, t) => sum + t.messages.length, 0) <= 3));
  assert.equal(batches[0]?.acks, -1);
});

Deno.test("KafkaPublisher sends a lone message without waiting for more", async () => {
  const { producer } = fakeProducer();
  let resolveAck!: () => void;
  const ack = new Promise<void>((resolve) => resolveAck = resolve);
  const publisher = new KafkaPublisher<number>(producer, { lingerMs: 1, onAcked: () => resolveAck() });
  publisher.enqueue(item(1));
  await ack; // before the fix this waited for a full batch or the next state save
  await publisher.close();
});

Deno.test("KafkaPublisher retries a failed batch until it lands", async () => {
  const { producer, batches } = fakeProducer({ failures: 2 });
  const retries: number[] = [];
  const acked: number[] = [];
  const publisher = new KafkaPublisher<number>(producer, {
    onAcked: (m) => acked.push(...m.map((x) => x.meta)),
    onRetry: (_error, attempt) => retries.push(attempt),
  });
  publisher.enqueue(item(1));
  assert.equal(await publisher.close(), 0);
  assert.deepEqual(retries, [0, 1]);
  assert.deepEqual(acked, [1]);
  assert.equal(batches.length, 1);
});

Deno.test("KafkaPublisher.close() gives up after its timeout and counts what was not delivered", async () => {
  const { producer } = fakeProducer({ hang: true });
  const acked: number[] = [];
  const publisher = new KafkaPublisher<number>(producer, { onAcked: (m) => acked.push(...m.map((x) => x.meta)) });
  publisher.enqueue(item(1));
  publisher.enqueue(item(2));
  assert.equal(await publisher.close(50), 2);
  assert.deepEqual(acked, [], "nothing undelivered is reported as acknowledged");
  assert.throws(() => publisher.enqueue(item(3)), /publisher is closed/);
});

Deno.test("KafkaPublisher.betweenBatches() runs while nothing is in flight", async () => {
  const { producer } = fakeProducer();
  const events: string[] = [];
  const publisher = new KafkaPublisher<number>(producer, { onAcked: (m) => events.push(`acked ${m.length}`) });
  publisher.enqueue(item(1));
  await publisher.betweenBatches(() => {
    events.push(`saved with ${publisher.pending} pending`);
    return Promise.resolve();
  });
  await publisher.close();
  assert.ok(events.some((e) => /saved with [01] pending/.test(e)), events.join());
});

Deno.test("KafkaPublisher sends one partition at a time and retries only the one that failed", async () => {
  // kafkajs loses or doubles messages when a send spanning several partitions is retried after a leader moved.
  const sends: { topic: string; partitions: number[]; values: string[] }[] = [];
  let failPartitionOne = 1;
  const producer = {
    sendBatch(batch: ProducerBatch) {
      const { topic, messages } = batch.topicMessages![0]!;
      sends.push({ topic, partitions: messages.map((m) => m.partition!), values: messages.map((m) => `${m.value}`) });
      if (batch.topicMessages!.length !== 1) return Promise.reject(new Error("several topics in one send"));
      if (messages[0]!.partition === 1 && failPartitionOne-- > 0) return Promise.reject(new Error("leader moved"));
      return Promise.resolve([]);
    },
  } as unknown as Producer;
  const acked: number[] = [];
  const publisher = new KafkaPublisher<number>(producer, {
    lingerMs: 50,
    partitionOf: (topic, message) => topic === "dlq" ? 0 : Number(message.value) % 2,
    onAcked: (m) => acked.push(...m.map((x) => x.meta)),
  });
  for (let n = 0; n < 6; n++) publisher.enqueue(item(n, n === 5 ? "dlq" : "t"));
  assert.equal(await publisher.close(), 0);
  assert.deepEqual(acked, [0, 1, 2, 3, 4, 5]);
  assert.ok(sends.every((send) => new Set(send.partitions).size === 1), JSON.stringify(sends));
  assert.deepEqual(sends.map((send) => `${send.topic}/${send.partitions[0]}: ${send.values.join(",")}`), [
    "t/0: 0,2,4",
    "t/1: 1,3",
    "t/1: 1,3", // the retry: partition 0 is not sent again
    "dlq/0: 5",
  ]);
});

/** Counts "abort" listeners added and not removed, on every EventTarget, while `body` runs. */
async function abortListenersLeftBy(body: () => Promise<void>): Promise<number> {
  const { addEventListener, removeEventListener } = EventTarget.prototype;
  let live = 0;
  EventTarget.prototype.addEventListener = function (this: EventTarget, type, ...rest) {
    if (type === "abort") live++;
    return addEventListener.call(this, type, ...rest);
  };
  EventTarget.prototype.removeEventListener = function (this: EventTarget, type, ...rest) {
    if (type === "abort") live--;
    return removeEventListener.call(this, type, ...rest);
  };
  try {
    await body();
  } finally {
    EventTarget.prototype.addEventListener = addEventListener;
    EventTarget.prototype.removeEventListener = removeEventListener;
  }
  return live;
}

Deno.test("KafkaPublisher waits on close() without keeping a listener per send", async () => {
  const { producer } = fakeProducer({ failures: 3 });
  const left = await abortListenersLeftBy(async () => {
    const publisher = new KafkaPublisher<number>(producer, { maxBatch: 1, lingerMs: 0, onAcked: () => {} });
    for (let n = 0; n < 500; n++) {
      publisher.enqueue(item(n));
      await publisher.betweenBatches(() => Promise.resolve());
    }
    assert.equal(await publisher.close(), 0);
  });
  assert.equal(left, 0);
});
