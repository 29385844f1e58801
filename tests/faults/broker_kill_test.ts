/**
 * Fault case 1: one broker of three killed with SIGKILL while trades are produced and consumed, then restarted; on
 * a plaintext cluster and on a secure one (SASL_SSL, TLS between nodes, ACLs), where the clients must log in again
 * to the nodes that take over and to the one that comes back.
 */
import { sleep, startFaultCluster } from "./_cluster.ts";
import { assertExactlyOnce, FAULT_TEST, FULL, Pipeline } from "./_pipeline.ts";

for (const secure of [false, true]) {
  Deno.test(
    `pipeline loses and doubles nothing when a broker is killed -9 mid-run and restarted (3-node cluster${
      secure ? ", SASL_SSL with ACLs" : ""
    })`,
    FAULT_TEST,
    async () => {
      await using cluster = await startFaultCluster({ secure });
      await using run = await Pipeline.start({
        name: secure ? "broker_kill_secure" : "broker_kill",
        cluster,
        exchange: { rate: FULL ? 300 : 150 },
      });
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
}
