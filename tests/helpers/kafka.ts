/** Reads topics back in tests, to compare what Kafka holds with what was sent. */
import type { BrokerAddress, KafkaSecurity } from "../../tasks/lib/config.ts";
import { createKafka } from "../../tasks/lib/kafka/client.ts";

/** A message as read back. */
export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: string;
}

/**
 * Reads `topic` from the beginning until `enough(messages)` holds or `timeoutMs` passes, and returns what it read.
 * On a secure cluster, `security` is an admin's login (the reader's group has no ACL of its own).
 */
export async function readTopic(
  brokers: BrokerAddress[],
  topic: string,
  enough: (messages: ReadMessage[]) => boolean,
  timeoutMs = 60_000,
  security?: KafkaSecurity,
): Promise<ReadMessage[]> {
  const kafka = createKafka(brokers, { quiet: true, clientId: "test-reader", security });
  const consumer = kafka.consumer({ groupId: `test-reader-${crypto.randomUUID()}` });
  const messages: ReadMessage[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const timer = setTimeout(() => finish(), timeoutMs);
  const check = setInterval(() => enough(messages) && finish(), 200);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          messages.push({
            partition: batch.partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? "", // a tombstone has no value
          });
        }
        return Promise.resolve();
      },
    });
    await finished;
  } finally {
    clearTimeout(timer);
    clearInterval(check);
    await consumer.disconnect();
  }
  return messages;
}
