import assert from "node:assert/strict";
import { createLogger } from "../../../tasks/lib/log.ts";
import {
  createConsumerMetrics,
  createProducerMetrics,
  serveMetrics,
  startMetricsEndpoint,
} from "../../../tasks/lib/metrics.ts";

const loopback: Deno.TestDefinition["permissions"] = { net: ["127.0.0.1"] };

Deno.test("createProducerMetrics() writes every metric with HELP, TYPE and labels in the text format", async () => {
  const metrics = createProducerMetrics();
  metrics.trades.inc({ symbol: "BTCUSDT" }, 3);
  metrics.backfilledTrades.inc({ symbol: "ETHUSDT" });
  metrics.dlqEvents.inc({ reason: "malformed_json" }, 2);
  metrics.ackLatency.observe(0.02);
  metrics.ackLatency.observe(3);
  metrics.sample(() => ({
    reconnects: 4,
    gapsFound: 2,
    gapIdsHealed: 150,
    openGaps: 1,
    lagSeconds: { BTCUSDT: 0.5, ETHUSDT: 1.25 },
  }));
  const text = await metrics.registry.metrics();

  for (
    const [name, type] of [
      ["crypto_producer_trades_total", "counter"],
      ["crypto_producer_backfilled_trades_total", "counter"],
      ["crypto_producer_dlq_events_total", "counter"],
      ["crypto_producer_reconnects_total", "counter"],
      ["crypto_producer_gaps_found_total", "counter"],
      ["crypto_producer_gap_ids_healed_total", "counter"],
      ["crypto_producer_lag_seconds", "gauge"],
      ["crypto_producer_open_gaps", "gauge"],
      ["crypto_producer_ack_latency_seconds", "histogram"],
    ]
  ) {
    assert.match(text, new RegExp(`^# HELP ${name} \\S`, "m"), name);
    assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, "m"), name);
  }
  assert.match(text, /^crypto_producer_trades_total\{symbol="BTCUSDT"\} 3$/m);
  assert.match(text, /^crypto_producer_backfilled_trades_total\{symbol="ETHUSDT"\} 1$/m);
  assert.match(text, /^crypto_producer_dlq_events_total\{reason="malformed_json"\} 2$/m);
  assert.match(text, /^crypto_producer_reconnects_total 4$/m);
  assert.match(text, /^crypto_producer_gaps_found_total 2$/m);
  assert.match(text, /^crypto_producer_gap_ids_healed_total 150$/m);
  assert.match(text, /^crypto_producer_open_gaps 1$/m);
  assert.match(text, /^crypto_producer_lag_seconds\{symbol="ETHUSDT"\} 1.25$/m);
  assert.match(text, /^crypto_producer_ack_latency_seconds_bucket\{le="0.025"\} 1$/m);
  assert.match(text, /^crypto_producer_ack_latency_seconds_bucket\{le="5"\} 2$/m);
  assert.match(text, /^crypto_producer_ack_latency_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^crypto_producer_ack_latency_seconds_count 2$/m);
  assert.match(text, /^crypto_producer_ack_latency_seconds_sum 3.02$/m);
});

Deno.test("createProducerMetrics() reads the sampled values again at every scrape", async () => {
  const metrics = createProducerMetrics();
  let reconnects = 1;
  const lagSeconds: Record<string, number> = { BTCUSDT: 2 };
  metrics.sample(() => ({ reconnects, gapsFound: 0, gapIdsHealed: 0, openGaps: 0, lagSeconds }));
  assert.match(await metrics.registry.metrics(), /^crypto_producer_reconnects_total 1$/m);
  reconnects = 3;
  delete lagSeconds.BTCUSDT;
  lagSeconds.SOLUSDT = 0.1;
  const text = await metrics.registry.metrics();
  assert.match(text, /^crypto_producer_reconnects_total 3$/m);
  assert.doesNotMatch(text, /lag_seconds\{symbol="BTCUSDT"\}/);
  assert.match(text, /^crypto_producer_lag_seconds\{symbol="SOLUSDT"\} 0.1$/m);
});

Deno.test("createConsumerMetrics() writes every metric with HELP, TYPE and labels in the text format", async () => {
  const metrics = createConsumerMetrics();
  metrics.rowsWritten.inc(1200);
  metrics.filesWritten.inc(3);
  metrics.dlqEvents.inc({ reason: "invalid_symbol" });
  metrics.writeFailures.inc();
  metrics.flushSeconds.observe(0.04);
  metrics.sample(() => ({ lagMessages: 42, lagSeconds: 0.75, bufferedRows: 17 }));
  const text = await metrics.registry.metrics();

  for (
    const [name, type] of [
      ["crypto_consumer_rows_written_total", "counter"],
      ["crypto_consumer_files_written_total", "counter"],
      ["crypto_consumer_dlq_events_total", "counter"],
      ["crypto_consumer_write_failures_total", "counter"],
      ["crypto_consumer_restarts_total", "counter"],
      ["crypto_consumer_lag_messages", "gauge"],
      ["crypto_consumer_lag_seconds", "gauge"],
      ["crypto_consumer_buffered_rows", "gauge"],
      ["crypto_consumer_flush_seconds", "histogram"],
    ]
  ) {
    assert.match(text, new RegExp(`^# HELP ${name} \\S`, "m"), name);
    assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, "m"), name);
  }
  assert.match(text, /^crypto_consumer_rows_written_total 1200$/m);
  assert.match(text, /^crypto_consumer_files_written_total 3$/m);
  assert.match(text, /^crypto_consumer_dlq_events_total\{reason="invalid_symbol"\} 1$/m);
  assert.match(text, /^crypto_consumer_write_failures_total 1$/m);
  assert.match(text, /^crypto_consumer_lag_messages 42$/m);
  assert.match(text, /^crypto_consumer_lag_seconds 0.75$/m);
  assert.match(text, /^crypto_consumer_buffered_rows 17$/m);
  assert.match(text, /^crypto_consumer_flush_seconds_bucket\{le="0.05"\} 1$/m);
});

Deno.test("createProducerMetrics() gives each process its own registry", async () => {
  const first = createProducerMetrics();
  const second = createProducerMetrics();
  first.trades.inc({ symbol: "BTCUSDT" });
  assert.doesNotMatch(await second.registry.metrics(), /trades_total\{symbol="BTCUSDT"\}/);
});

Deno.test("serveMetrics() answers GET /metrics on a free loopback port, 404 elsewhere, until closed", {
  permissions: loopback,
}, async () => {
  const metrics = createConsumerMetrics();
  metrics.rowsWritten.inc(5);
  await using server = serveMetrics(metrics.registry, { port: 0 });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  assert.ok(server.port > 0);

  const response = await fetch(server.url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.match(await response.text(), /^crypto_consumer_rows_written_total 5$/m);

  const elsewhere = await fetch(server.url.replace("/metrics", "/"));
  assert.equal(elsewhere.status, 404);
  await elsewhere.body?.cancel();
  const post = await fetch(server.url, { method: "POST" });
  assert.equal(post.status, 405);
  await post.body?.cancel();

  await server.close();
  await assert.rejects(fetch(server.url));
});

Deno.test(
  "startMetricsEndpoint() warns and goes on without metrics when the port is taken",
  { permissions: loopback },
  () => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const lines: string[] = [];
    const log = createLogger("consumer", { format: "text", write: (line) => lines.push(line) });
    const metrics = createConsumerMetrics();
    const port = (taken.addr as Deno.NetAddr).port;

    const none = startMetricsEndpoint(metrics.registry, port, { log, setting: "CONSUMER_METRICS_PORT" });
    assert.equal(none, undefined);
    assert.deepEqual(lines, [
      `warn: metrics not served: 127.0.0.1:${port} is taken; set CONSUMER_METRICS_PORT to a free port, or 0 for no metrics`,
    ]);
    assert.equal(
      startMetricsEndpoint(metrics.registry, undefined, { log, setting: "CONSUMER_METRICS_PORT" }),
      undefined,
    );
    assert.equal(lines.length, 1, "port 0 (undefined) serves nothing and says nothing");
  },
);

Deno.test("startMetricsEndpoint() says where it serves", { permissions: loopback }, async () => {
  const lines: string[] = [];
  const log = createLogger("producer", { format: "text", write: (line) => lines.push(line) });
  const metrics = createProducerMetrics();
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  await using server = startMetricsEndpoint(metrics.registry, port, { log, setting: "PRODUCER_METRICS_PORT" });
  assert.equal(server?.port, port);
  assert.deepEqual(lines, [`metrics: http://127.0.0.1:${port}/metrics`]);
  const response = await fetch(server!.url);
  assert.match(await response.text(), /^# TYPE crypto_producer_trades_total counter$/m);
});
