/** Fault case 2: the whole cluster stopped and started again while trades keep coming. */
import { sleep, startFaultCluster } from "./_cluster.ts";
import { assertExactlyOnce, FAULT_TEST, FULL, Pipeline } from "./_pipeline.ts";

Deno.test(
  "pipeline loses and doubles nothing when the whole cluster is stopped and started mid-run (3-node cluster)",
  FAULT_TEST,
  async () => {
    await using cluster = await startFaultCluster();
    await using run = await Pipeline.start({ name: "cluster_restart", cluster, exchange: { rate: FULL ? 300 : 150 } });
    run.startProducer();
    run.startConsumer();
    await run.waitForLake(1, 60_000);
    await sleep(3000);
    // Every node stops while the exchange keeps trading: the producer must hold what it receives until Kafka is back.
    await cluster.kafka("stop");
    await sleep(FULL ? 20_000 : 8000);
    await cluster.kafka("start");
    await sleep(5000);
    const report = await run.finish();
    assertExactlyOnce(report, () => run.logs());
  },
);
