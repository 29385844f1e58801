/** Fault case 1: one broker of three killed with SIGKILL while trades are produced and consumed, then restarted. */
import { sleep, startFaultCluster } from "./_cluster.ts";
import { assertExactlyOnce, FAULT_TEST, FULL, Pipeline } from "./_pipeline.ts";

Deno.test(
  "pipeline loses and doubles nothing when a broker is killed -9 mid-run and restarted (3-node cluster)",
  FAULT_TEST,
  async () => {
    await using cluster = await startFaultCluster();
    await using run = await Pipeline.start({ name: "broker_kill", cluster, exchange: { rate: FULL ? 300 : 150 } });
    run.startProducer();
    run.startConsumer();
    await run.waitForLake(1, 60_000);
    await sleep(3000);
    // The leader of a trades partition: its producer and consumer traffic must move to another node.
    const victim = await cluster.leaderOf(0);
    await cluster.killNode(victim);
    await sleep(FULL ? 20_000 : 10_000);
    await cluster.kafka("start", "--node", String(victim));
    await sleep(5000);
    const report = await run.finish();
    assertExactlyOnce(report, () => run.logs());
  },
);
