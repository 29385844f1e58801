/** Fault case 5: the exchange drops the producer's connection ten times within a minute. */
import assert from "node:assert/strict";
import { sleep, startFaultCluster } from "./_cluster.ts";
import { assertExactlyOnce, FAULT_TEST, FULL, Pipeline } from "./_pipeline.ts";

const DROPS = 10;
/** The exchange's limit: 300 connection attempts per 5 minutes per IP. */
const CONNECTION_LIMIT = 300;

Deno.test(
  "pipeline loses and doubles nothing through 10 exchange disconnects in a minute, within the connection limit (3-node cluster)",
  FAULT_TEST,
  async () => {
    await using cluster = await startFaultCluster();
    await using run = await Pipeline.start({ name: "disconnect_storm", cluster, exchange: { rate: FULL ? 300 : 150 } });
    run.startProducer();
    run.startConsumer();
    await run.waitForLake(1, 60_000);
    // Ten drops at random moments within a minute (the full suite) or half of one (CI); a drop that finds the
    // producer between connections waits until it has reconnected.
    const window = FULL ? 55_000 : 30_000;
    const start = Date.now();
    let dropped = 0;
    for (let drop = 0; drop < DROPS; drop++) {
      await sleep(start + window / DROPS * (drop + Math.random()) - Date.now());
      const deadline = Date.now() + 30_000;
      let closed = 0;
      while ((closed = run.exchange.disconnectAll()) === 0 && Date.now() < deadline) await sleep(50);
      if (closed > 0) dropped++;
    }
    const stormSeconds = (Date.now() - start) / 1000;
    await sleep(3000);
    const report = await run.finish({ notes: { drops: dropped, storm_seconds: Math.round(stormSeconds) } });
    assertExactlyOnce(report, () => run.logs());
    assert.equal(dropped, DROPS, "every drop cut a live connection");
    assert.ok(stormSeconds <= 60, `${DROPS} drops in ${stormSeconds} s`);
    assert.ok(report.connections > DROPS, `the producer reconnected after each drop: ${report.connections}`);
    assert.ok(report.connections <= CONNECTION_LIMIT, `${report.connections} connections within the limit`);
  },
);
