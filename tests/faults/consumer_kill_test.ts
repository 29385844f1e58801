/** Fault case 3: the consumer killed with SIGKILL five times in a row while trades keep coming. */
import { sleep, startFaultCluster } from "./_cluster.ts";
import { assertExactlyOnce, FULL, FULL_ONLY, Pipeline } from "./_pipeline.ts";

const KILLS = 5;

Deno.test(
  "pipeline loses and doubles nothing when the consumer is killed -9 five times mid-stream (3-node cluster)",
  FULL_ONLY,
  async () => {
    await using cluster = await startFaultCluster();
    await using run = await Pipeline.start({ name: "consumer_kill", cluster, exchange: { rate: FULL ? 300 : 150 } });
    run.startProducer();
    run.startConsumer();
    for (let kill = 0; kill < KILLS; kill++) {
      // Once this consumer is writing (after the group gave it the partitions), kill it at a random moment.
      const before = await run.lakeTrades();
      const deadline = Date.now() + 60_000;
      while (await run.lakeTrades() <= before && Date.now() < deadline) await sleep(250);
      await sleep(300 + Math.random() * 2000);
      await run.consumer!.kill();
      run.startConsumer();
    }
    await sleep(3000);
    const report = await run.finish({ notes: { kills: KILLS } });
    assertExactlyOnce(report, () => run.logs());
  },
);
