/**
 * The producer end to end: the local exchange (faults on) → `deno task producer` → a real broker. Kafka must hold
 * every trade the exchange made exactly once, and every bad event in the DLQ with its reason, through
 * disconnects, stalls, a graceful restart and a kill -9.
 */
import assert from "node:assert/strict";
import { startExchange } from "../../tasks/lib/exchange/server.ts";
import type { Exchange } from "../../tasks/lib/exchange/server.ts";
import { DLQ_TOPIC, TRADES_TOPIC } from "../../tasks/lib/kafka/topics.ts";
import { type Market, marketProfile } from "../../tasks/lib/market.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { type ReadMessage, readTopic } from "../helpers/kafka.ts";
import { freePort, metricSum, scrapeUntil } from "../helpers/metrics.ts";
import { collectOutput, runDenoTask, spawnTask } from "../helpers/tasks.ts";

const kafkaTest = { sanitizeOps: false, sanitizeResources: false };
const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const START_ID = 1_000_000;
const USDM_TRADES_TOPIC = marketProfile("usdm").tradesTopic;

Deno.test(
  "producer puts every valid trade in Kafka once and every bad event in the DLQ (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    const exchange = await startExchange({
      port: 0,
      symbols: SYMBOLS,
      seed: 11,
      rate: 300,
      maxTrades: 9000,
      stallMs: 1500,
      faults: {
        malformed_json: 0.01,
        wrong_types: 0.01,
        missing_fields: 0.01,
        bad_price: 0.01,
        bad_qty: 0.01,
        unknown_event: 0.01,
        unsubscribed_symbol: 0.01,
        oversized: 0.005,
        duplicate: 0.02,
        out_of_order: 0.02,
        drop: 0.001,
        stall: 0.001,
      },
    });
    try {
      const metricsPort = freePort();
      const env = {
        ...await producerEnv(broker, exchange),
        PRODUCER_METRICS_PORT: String(metricsPort),
        LOG_FORMAT: "json",
      };
      const producer = spawnTask("producer", env);
      const output = collectOutput(producer);
      await allGenerated(exchange, 9000);
      const trades = await readTopic(broker.brokers, TRADES_TOPIC, (m) => m.length >= 9000, 60_000);
      const faults = exchange.stats().faults;
      const invalidSent = faults.malformed_json + faults.wrong_types + faults.missing_fields + faults.bad_price +
        faults.bad_qty + faults.unknown_event + faults.unsubscribed_symbol + faults.oversized;
      // Scraped while it runs, the metrics count what Kafka holds.
      const metrics = await scrapeUntil(
        metricsPort,
        (text) =>
          metricSum(text, "crypto_producer_trades_total") >= 9000 &&
          metricSum(text, "crypto_producer_dlq_events_total") >= invalidSent,
      );
      producer.kill("SIGTERM");
      assert.equal((await producer.status).code, 0, output.text());
      await output.done;

      assert.equal(metricSum(metrics, "crypto_producer_trades_total"), 9000, metrics);
      assert.equal(metricSum(metrics, "crypto_producer_dlq_events_total"), invalidSent, metrics);
      assert.match(metrics, /^crypto_producer_trades_total\{symbol="ETHUSDT"\} [1-9]\d*$/m);
      assert.match(metrics, /^crypto_producer_ack_latency_seconds_bucket\{le="0\.1"\} \d+$/m);
      assert.ok(metricSum(metrics, "crypto_producer_ack_latency_seconds_count") > 0, metrics);
      const logLines = output.text().split("\n").filter((line) => line.startsWith('{"ts":')).map((l) => JSON.parse(l));
      assert.ok(logLines.some((l) => l.level === "info" && l.component === "producer" && /^progress: /.test(l.msg)));

      assertExactlyOnce(trades, exchange);
      assert.ok(invalidSent > 0, "faults were injected");
      const dlq = await readTopic(broker.brokers, DLQ_TOPIC, (m) => m.length >= invalidSent, 20_000);
      const reasons = countBy(dlq.map((m) => JSON.parse(m.value).reason as string));
      assert.equal(
        dlq.length,
        invalidSent,
        `DLQ reasons ${JSON.stringify(reasons)} vs faults ${JSON.stringify(faults)}`,
      );
      assert.equal(reasons.malformed_json ?? 0, faults.malformed_json);
      assert.equal(reasons.unknown_event ?? 0, faults.unknown_event);
      assert.equal(reasons.unsubscribed_symbol ?? 0, faults.unsubscribed_symbol);
      assert.equal(reasons.oversized ?? 0, faults.oversized);
      for (const record of dlq.map((m) => JSON.parse(m.value))) {
        assert.ok(
          record.detail.length > 0 && record.raw_length > 0 && record.received_at_ms > 0,
          JSON.stringify(record),
        );
      }
      const summary = JSON.parse(output.text().split("\n").find((line) => line.includes('"producer_summary"'))!);
      assert.equal(summary.undelivered, 0);
      assert.ok(summary.duplicatesDropped > 0, "duplicated frames were dropped by trade id");
    } finally {
      await exchange.shutdown();
    }
  },
);

Deno.test(
  "producer loses and doubles nothing across disconnect, stall, max-age cut, restart and kill -9 (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    // Connections live 5 s, like the exchange's 24 h cut sped up: the producer must rotate on the notice.
    const exchange = await startExchange({
      port: 0,
      symbols: SYMBOLS,
      seed: 5,
      rate: 300,
      maxTrades: 4500,
      maxAgeSeconds: 5,
      shutdownNoticeSeconds: 1,
    });
    try {
      const env = await producerEnv(broker, exchange);
      const outputs: (() => string)[] = [];
      const run = () => {
        const child = spawnTask("producer", env);
        const output = collectOutput(child);
        outputs.push(output.text);
        return { child, done: output.done };
      };
      const logs = () => outputs.map((text, index) => `--- producer run ${index + 1} ---\n${text()}`).join("\n");

      let producer = run();
      // Faults act on connections, so each waits for one to be open: a loaded machine may take seconds to start.
      await connected(exchange, logs);
      await sleep(1000);
      assert.ok(exchange.disconnectAll() > 0, "forced disconnect");
      await connected(exchange, logs);
      await sleep(1000);
      assert.ok(exchange.stallAll(3000) > 0, "stall");
      await sleep(4000);
      producer.child.kill("SIGTERM");
      assert.equal((await producer.child.status).code, 0, `graceful stop:\n${logs()}`);
      await producer.done;

      producer = run();
      await sleep(2500);
      producer.child.kill("SIGKILL");
      await producer.child.status;
      await producer.done;

      producer = run();
      await allGenerated(exchange, 4500);
      const trades = await readTopic(broker.brokers, TRADES_TOPIC, (m) => m.length >= 4500, 60_000);
      await sleep(1000); // anything published twice would arrive now
      assert.equal(trades.length, 4500, logs());
      producer.child.kill("SIGTERM");
      assert.equal((await producer.child.status).code, 0, logs());
      await producer.done;

      const all = await readTopic(broker.brokers, TRADES_TOPIC, (m) => m.length >= trades.length, 20_000);
      assertExactlyOnce(all, exchange);
      assert.match(logs(), /reconnecting/);
      assert.match(logs(), /rotating: exchange sent serverShutdown/);
      assert.match(logs(), /recovered \d+ trades|backfill: /);
    } finally {
      await exchange.shutdown();
    }
  },
);

Deno.test("producer stopped during a burst delivers everything it accepted (real broker)", kafkaTest, async () => {
  await using broker = await startTestBroker();
  assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
  const exchange = await startExchange({ port: 0, symbols: SYMBOLS, seed: 9, rate: 3000 });
  try {
    const producer = spawnTask("producer", await producerEnv(broker, exchange));
    const output = collectOutput(producer);
    while (!output.text().includes("backfill:")) await sleep(100); // running, and the start gap healed
    await sleep(1500);
    producer.kill("SIGTERM");
    assert.equal((await producer.status).code, 0, output.text());
    await output.done;
    const summary = JSON.parse(output.text().split("\n").find((line) => line.includes('"producer_summary"'))!);
    assert.equal(summary.undelivered, 0);
    const total = Object.values(summary.trades as Record<string, number>).reduce((a, b) => a + b, 0);
    const trades = await readTopic(broker.brokers, TRADES_TOPIC, (m) => m.length >= total, 20_000);
    await sleep(500);
    for (const symbol of SYMBOLS) {
      const ids = trades.map((m) => JSON.parse(m.value).trade).filter((t) => t.s === symbol).map((t) => t.t as number);
      assert.equal(ids.length, summary.trades[symbol], `${symbol}: every acknowledged trade is in Kafka`);
      assert.equal(new Set(ids).size, ids.length, `${symbol}: none twice`);
      assert.equal(Math.max(...ids) - START_ID + 1, ids.length, `${symbol}: no hole below the last trade accepted`);
    }
  } finally {
    await exchange.shutdown();
  }
});

Deno.test(
  "usdm producer puts every futures trade in crypto.trades.usdm.v1 once with its X, through a disconnect (real broker)",
  kafkaTest,
  async () => {
    await using broker = await startTestBroker();
    assert.equal((await runDenoTask(["topics"], broker.env)).code, 0);
    const exchange = await startExchange({
      market: "usdm",
      port: 0,
      symbols: SYMBOLS,
      seed: 17,
      rate: 300,
      maxTrades: 3000,
      nonMarketRate: 0.05,
    });
    try {
      // No API key: the gap of the disconnect heals from the public /fapi/v1/trades, which still holds it.
      const env = { ...await producerEnv(broker, exchange, "usdm"), MARKET: "usdm" };
      const producer = spawnTask("producer", env);
      const output = collectOutput(producer);
      await connected(exchange, output.text);
      await sleep(1500);
      assert.ok(exchange.disconnectAll() > 0, "forced disconnect");
      await allGenerated(exchange, 3000);
      const report = exchange.stats();
      const nonMarket = new Set(
        SYMBOLS.flatMap((s) => (report.symbols[s]!.nonMarketIds ?? []).map((id) => `${s}:${id}`)),
      );
      const marketTrades = report.trades - nonMarket.size;
      const isMarket = (m: ReadMessage) => {
        const { s, t } = JSON.parse(m.value).trade;
        return !nonMarket.has(`${s}:${t}`);
      };
      await readTopic(broker.brokers, USDM_TRADES_TOPIC, (m) => m.filter(isMarket).length >= marketTrades, 60_000);
      await sleep(1000); // anything published twice would arrive now
      producer.kill("SIGTERM");
      assert.equal((await producer.status).code, 0, output.text());
      await output.done;
      const summary = JSON.parse(output.text().split("\n").find((line) => line.includes('"producer_summary"'))!);
      assert.equal(summary.undelivered, 0);
      assert.match(output.text(), /usdm: no BINANCE_API_KEY_FILE or BINANCE_API_KEY: gaps are healed from the public/);
      assert.match(output.text(), /reconnecting/);

      const all = await readTopic(broker.brokers, USDM_TRADES_TOPIC, (m) => m.filter(isMarket).length >= marketTrades);
      const envelopes = all.map((m) => JSON.parse(m.value));
      let absent = 0;
      for (const symbol of SYMBOLS) {
        const { firstId, lastId, nonMarketIds = [] } = report.symbols[symbol]!;
        const all = envelopes.filter((e) => e.trade.s === symbol);
        // A proof copy (REST's copy of the live trade above a gap whose top ids are absent, with source_prev_id) is
        // the one second copy allowed: it carries what the live copy cannot. Every other trade is in Kafka once.
        const liveIds = new Set(all.filter((e) => !e.backfilled).map((e) => e.trade.t as number));
        const proofs = all.filter((e) => e.backfilled && e.source_prev_id !== undefined && liveIds.has(e.trade.t));
        const mine = all.filter((e) => !proofs.includes(e));
        const ids = new Set(mine.map((e) => e.trade.t as number));
        assert.equal(ids.size, mine.length, `${symbol}: no trade twice`);
        for (const proof of proofs) {
          assert.ok(
            offBookBelow(proof, new Set(nonMarketIds)),
            `${symbol}: proof copy ${proof.trade.t} proves an absence`,
          );
        }
        const offBook = new Set(nonMarketIds);
        for (let id = firstId!; id <= lastId!; id++) {
          // The stream shows every trade; REST never lists off-book ones, so those lost in the disconnect are absent.
          if (ids.has(id)) continue;
          assert.ok(offBook.has(id), `${symbol}: market trade ${id} missing`);
          absent++;
        }
        for (const envelope of mine) {
          assert.equal(envelope.market, "usdm");
          assert.equal(envelope.trade.M, undefined);
          assert.equal(envelope.trade.X === "MARKET", !offBook.has(envelope.trade.t), JSON.stringify(envelope));
          if (envelope.source_prev_id !== undefined) {
            assert.ok(envelope.backfilled && envelope.source_prev_id < envelope.trade.t, JSON.stringify(envelope));
          }
        }
      }
      assert.ok(summary.backfilled > 0, "the disconnect's gap was healed from REST");
      assert.equal(summary.absent, absent, "every off-book id lost in the gap is counted absent, no more");
      assert.deepEqual(summary.openGaps, []);
    } finally {
      await exchange.shutdown();
    }
  },
);

/** Whether the ids a proof copy vouches for (source_prev_id + 1 … its id − 1) are all off-book. */
function offBookBelow(proof: { source_prev_id: number; trade: { t: number } }, offBook: Set<number>): boolean {
  for (let id = proof.source_prev_id + 1; id < proof.trade.t; id++) if (!offBook.has(id)) return false;
  return proof.source_prev_id + 1 < proof.trade.t;
}

/** Waits until the producer holds an open stream to the exchange. */
async function connected(exchange: Exchange, logs: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (exchange.stats().connections.open === 0) {
    if (Date.now() > deadline) throw new Error(`no producer connection within ${timeoutMs} ms:\n${logs()}`);
    await sleep(100);
  }
}

/** The producer's environment, with a state that says it has seen every symbol up to just before the first id. */
async function producerEnv(
  broker: TestBroker,
  exchange: Exchange,
  market: Market = "spot",
): Promise<Record<string, string>> {
  const statePath = `data/producer/test-${crypto.randomUUID()}/state.json`;
  await Deno.mkdir(`${PROJECT_ROOT}/${statePath.replace(/\/state.json$/, "")}`, { recursive: true });
  const symbols = Object.fromEntries(SYMBOLS.map((s) => [s, { highest: START_ID - 1, gaps: [] }]));
  await Deno.writeTextFile(
    `${PROJECT_ROOT}/${statePath}`,
    JSON.stringify({
      version: 1,
      savedAtMs: 0,
      topic: marketProfile(market).tradesTopic,
      offsets: {},
      tracker: { symbols, gapsFound: 0, idsHealed: 0, gapsAbandoned: [] },
    }),
  );
  return {
    ...broker.env,
    BINANCE_WS_URL: `ws://127.0.0.1:${exchange.port}`,
    BINANCE_REST_URL: `http://127.0.0.1:${exchange.port}`,
    SYMBOLS: SYMBOLS.join(","),
    PRODUCER_STATE_PATH: statePath,
    PRODUCER_STALE_AFTER_S: "2",
  };
}

function assertExactlyOnce(messages: ReadMessage[], exchange: Exchange): void {
  const report = exchange.stats();
  for (const symbol of SYMBOLS) {
    const ids = messages.map((m) => JSON.parse(m.value).trade).filter((t) => t.s === symbol).map((t) => t.t as number);
    const { firstId, lastId, count } = report.symbols[symbol]!;
    assert.equal(firstId, START_ID);
    assert.equal(new Set(ids).size, ids.length, `${symbol}: no trade twice`);
    assert.equal(ids.length, count, `${symbol}: ${count} trades made, ${ids.length} in Kafka`);
    assert.equal(Math.min(...ids), firstId);
    assert.equal(Math.max(...ids), lastId);
  }
}

async function allGenerated(exchange: Exchange, trades: number): Promise<void> {
  while (exchange.stats().trades < trades) await sleep(100);
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
