/**
 * Fault case 6: a malformed-input barrage. Bad frames reach the producer through a relay in front of the exchange,
 * bad records reach the consumer straight through Kafka, and the producer restarts with them in its topic.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createKafka } from "../../tasks/lib/kafka/client.ts";
import { DLQ_TOPIC, TRADES_TOPIC } from "../../tasks/lib/kafka/topics.ts";
import { badFrames, badRecords, expectedReasons, NOT_UTF8_TEXT_FRAME } from "./_barrage.ts";
import { type FaultCluster, sleep, startFaultCluster } from "./_cluster.ts";
import { assertExactlyOnce, FAULT_TEST, FULL, Pipeline } from "./_pipeline.ts";
import { startRelay } from "./_relay.ts";

Deno.test(
  "pipeline puts every malformed frame and record in the DLQ with its reason and loses nothing (3-node cluster)",
  FAULT_TEST,
  async () => {
    await using cluster = await startFaultCluster();
    let relay: ReturnType<typeof startRelay> | undefined;
    await using run = await Pipeline.start({
      name: "malformed_barrage",
      cluster,
      exchange: { rate: 100, faults: { duplicate: 0.01, out_of_order: 0.01 } },
      wsUrl: (exchange) => (relay = startRelay(`ws://127.0.0.1:${exchange.port}`)).url,
    });
    try {
      run.startProducer();
      run.startConsumer();
      await run.waitForLake(1, 60_000);

      // Every kind of bad frame, on the live connection, between real trades: several rounds in the full suite.
      const frames = badFrames("BTCUSDT");
      const rounds = FULL ? 3 : 1;
      for (let round = 0; round < rounds; round++) {
        assert.equal(
          await relay!.inject(frames.map((bad) => bad.frame)),
          1,
          "the producer is connected through the relay",
        );
        await sleep(500);
      }
      const producerDlq = Object.fromEntries(
        Object.entries(expectedReasons(frames)).map(([reason, n]) => [reason, n * rounds]),
      );
      await waitForDlq(cluster, frames.length * rounds);

      // A text frame that is not UTF-8: the connection fails under it, and the producer reconnects and heals.
      const accepted = relay!.accepted;
      await relay!.inject([NOT_UTF8_TEXT_FRAME]);
      while (relay!.accepted === accepted) await sleep(100);

      // Records no producer of ours writes, straight into the trades topic; then a restart, which replays them.
      await run.producer!.stop();
      const records = badRecords();
      await writeRecords(cluster, records);
      run.startProducer();
      await sleep(5000);

      const report = await run.finish({ notes: { kinds: frames.length + 1 + records.length } });
      assertExactlyOnce(report, () => run.logs(), { ...producerDlq, ...expectedReasons(records, "consumer:") });
      assert.ok(
        report.connections >= 2,
        `the frame that is not UTF-8 cost the connection: ${report.connections} connections`,
      );
    } finally {
      await relay?.close();
    }
  },
);

async function waitForDlq(cluster: FaultCluster, count: number): Promise<void> {
  const admin = createKafka(cluster.brokers, { quiet: true }).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const offsets = await admin.fetchTopicOffsets(DLQ_TOPIC);
      if (offsets.reduce((sum, p) => sum + Number(p.high), 0) >= count) return;
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

async function writeRecords(cluster: FaultCluster, records: ReturnType<typeof badRecords>): Promise<void> {
  const producer = createKafka(cluster.brokers, { quiet: true }).producer({ idempotent: true });
  await producer.connect();
  try {
    await producer.send({
      topic: TRADES_TOPIC,
      acks: -1,
      messages: records.map(({ value }) => ({
        key: "BTCUSDT",
        value: value instanceof Uint8Array ? Buffer.from(value) : value,
      })),
    });
  } finally {
    await producer.disconnect();
  }
}
