/** Fault case 4: the producer killed with SIGKILL and started again; what traded meanwhile comes from REST. */
import assert from "node:assert/strict";
import { sleep, startFaultCluster } from "./_cluster.ts";
import { assertExactlyOnce, FULL, FULL_ONLY, Pipeline } from "./_pipeline.ts";

Deno.test(
  "pipeline loses and doubles nothing when the producer is killed -9 and restarted: backfill heals the gap (3-node cluster)",
  FULL_ONLY,
  async () => {
    await using cluster = await startFaultCluster();
    await using run = await Pipeline.start({ name: "producer_kill", cluster, exchange: { rate: FULL ? 300 : 150 } });
    run.startProducer();
    run.startConsumer();
    await run.waitForLake(1, 60_000);
    await sleep(3000);
    await run.producer!.kill();
    await sleep(FULL ? 15_000 : 6000); // the exchange keeps trading: the gap
    const restarted = run.startProducer();
    await sleep(5000);
    const report = await run.finish();
    assertExactlyOnce(report, () => run.logs());
    assert.match(restarted.output(), /backfill: \w+ healed \d+ trades/, run.logs());
  },
);
