/** The chart builders draw their data: marks with one drawn element per datum, thresholds, legends, empty states. */
import assert from "node:assert/strict";
import {
  archiveTable,
  candlestickChart,
  cumulativeDeltaChart,
  dlqChart,
  freshnessChart,
  gapsChart,
  gapsTable,
  healthStatusChart,
  imbalanceChart,
  lakeFilesChart,
  latencyChart,
  statusTable,
  summaryTable,
  tradeSizeChart,
  volumeChart,
} from "../../../../tasks/lib/notebooks/charts.ts";
import type { HealthWindow, LatencyMinute, TradeGap } from "../../../../tasks/lib/notebooks/health_queries.ts";
import type { Candle, FlowMinute } from "../../../../tasks/lib/notebooks/queries.ts";
import { headline } from "../../../../tasks/lib/notebooks/charts.ts";
import { takeChartWarnings, timeTickLabel, timeTickLabels, timeTicks } from "../../../../tasks/lib/notebooks/_plot.ts";
import type { PairScore } from "../../../../tasks/lib/warehouse/scorecard.ts";
import { drawnChart, drawnCharts } from "./_svg.ts";

const T0 = Date.parse("2025-03-01T23:58:00Z");
const minute = (i: number) => new Date(T0 + i * 60_000);
/** The window the charts of these tests show: ten minutes from T0. */
const WINDOW = { start: minute(0), end: minute(10) };

const CANDLES: Candle[] = [
  { minuteAt: minute(0), open: 100, high: 104, low: 99, close: 103, vwap: 101.5, volume: 2, tradeCount: 4 },
  { minuteAt: minute(1), open: 103, high: 103.5, low: 97, close: 98, vwap: 99, volume: 5, tradeCount: 9 },
  { minuteAt: minute(2), open: 98, high: 101, low: 98, close: 100, vwap: 99.8, volume: 1, tradeCount: 2 },
];

const FLOW: FlowMinute[] = [
  { minuteAt: minute(0), buyVolume: 1.5, sellVolume: 0.5, imbalance: 0.5, cumulativeDelta: 1 },
  { minuteAt: minute(1), buyVolume: 1, sellVolume: 4, imbalance: -0.6, cumulativeDelta: -2 },
  { minuteAt: minute(2), buyVolume: 0, sellVolume: 0, imbalance: null, cumulativeDelta: -2 },
];

function window(at: Date, status: HealthWindow["status"], pair = "BTCUSDT"): HealthWindow {
  return {
    pair,
    windowStartAt: at,
    windowEndAt: new Date(at.getTime() + 300_000),
    status,
    trades5m: 10,
    secondsSinceLastTrade: status === "stale" ? 120 : 2,
    secondsSinceLastIngest: 1,
    openGaps: 0,
    dlqEvents: 0,
    ingestP99Ms: 80,
    klineMatchRate: null,
  };
}

Deno.test("renderSvg() output is one standalone <svg> with the SVG namespace and an aria-label", () => {
  const svg = candlestickChart(CANDLES, "BTCUSDT", WINDOW);
  assert.match(svg, /^<svg[^>]* xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>$/);
  assert.equal(drawnCharts(svg).length, 1);
  assert.equal(drawnCharts(svg)[0]!.label, "candlestick chart");
});

Deno.test("candlestickChart() draws a wick and a body per candle, the VWAP line and a legend", () => {
  const svg = candlestickChart(CANDLES, "BTCUSDT", WINDOW);
  const { marks } = drawnChart(svg, "candlestick chart");
  assert.equal(marks.rule, 6); // 3 wicks + 3 bodies
  assert.equal(marks.line, 1);
  assert.match(svg, /VWAP/);
  assert.match(svg, /class="legend"/);
});

Deno.test("volumeChart() draws a bar per side and minute that traded, buys up and sells down", () => {
  const { marks } = drawnChart(volumeChart(FLOW, "BTCUSDT", WINDOW), "volume chart");
  assert.equal(marks.rect, 4); // minute 2 had no volume
});

Deno.test("imbalanceChart() skips minutes without volume", () => {
  assert.equal(drawnChart(imbalanceChart(FLOW, "BTCUSDT", WINDOW), "imbalance chart").marks.rect, 2);
});

Deno.test("cumulativeDeltaChart() draws the running delta as one step line, to the end of its last minute", () => {
  const svg = cumulativeDeltaChart(FLOW, "BTCUSDT", WINDOW);
  const { marks } = drawnChart(svg, "cumulative delta chart");
  assert.equal(marks.line, 1);
  assert.equal(marks.area, undefined, "no area closing down to the axis at the end");
});

Deno.test("tradeSizeChart() draws a bar per bucket and side", () => {
  const svg = tradeSizeChart([
    { side: "buy", low: 0.01, high: 0.0178, trades: 5 },
    { side: "sell", low: 0.01, high: 0.0178, trades: 2 },
    { side: "buy", low: 1, high: 1.78, trades: 1 },
  ], "BTCUSDT");
  assert.equal(drawnChart(svg, "trade size chart").marks.rect, 3);
});

Deno.test("charts without data say so instead of drawing empty axes", () => {
  for (const svg of [candlestickChart([], "BTCUSDT", WINDOW), volumeChart([], "BTCUSDT", WINDOW), lakeFilesChart([])]) {
    const [chart] = drawnCharts(svg);
    assert.deepEqual(Object.keys(chart!.marks), ["text"]);
    assert.match(svg, /No /);
  }
});

Deno.test("latencyChart() draws p50/p95/p99 and the warn threshold for ingest, no threshold for the lake", () => {
  const latency: LatencyMinute[] = [0, 1, 2].map((i) => ({
    minuteAt: minute(i),
    samples: 10,
    ingestP50Ms: 50,
    ingestP95Ms: 90 + i,
    ingestP99Ms: i === 2 ? 2600 : 120,
    lakeP50Ms: 500,
    lakeP95Ms: 900,
    lakeP99Ms: 990,
  }));
  const ingest = latencyChart(latency, { pair: "BTCUSDT", stage: "ingest", warnLatencyMs: 2000, window: WINDOW });
  const { marks } = drawnChart(ingest, "ingest latency chart");
  assert.equal(marks.line, 3); // one per percentile
  assert.equal(marks.dot, 9);
  assert.equal(marks.rule, 1);
  assert.match(ingest, /warn above 2000 ms/);
  const lake = latencyChart(latency, { pair: "BTCUSDT", stage: "lake", window: WINDOW });
  assert.equal(drawnChart(lake, "lake latency chart").marks.rule, undefined);
});

Deno.test("healthStatusChart() colours a bar per pair and window by status", () => {
  const svg = healthStatusChart([
    window(minute(0), "ok"),
    window(minute(5), "warn"),
    window(minute(10), "stale"),
    window(minute(0), "ok", "ETHUSDT"),
  ], WINDOW);
  assert.equal(drawnChart(svg, "health status chart").marks.bar, 4);
  for (const color of ["#1a9850", "#f39c12", "#d73027"]) assert.match(svg, new RegExp(`fill="${color}"`));
});

Deno.test("freshnessChart() draws both freshness lines for the pair and the stale threshold", () => {
  const health = [window(minute(0), "ok"), window(minute(5), "stale"), window(minute(0), "ok", "ETHUSDT")];
  const svg = freshnessChart(health, { pair: "BTCUSDT", staleAfterSeconds: 60, window: WINDOW });
  const { marks } = drawnChart(svg, "freshness chart");
  assert.equal(marks.line, 2);
  assert.equal(marks.rule, 1);
  assert.match(svg, /stale after 60 s/);
});

Deno.test("dlqChart() stacks events by reason, and says when there were none", () => {
  const at = (i: number) => ({ windowStartAt: minute(i * 5), windowEndAt: minute(i * 5 + 5) });
  const some = dlqChart([
    { ...at(0), reason: "malformed_json", events: 3 },
    { ...at(0), reason: "invalid_symbol", events: 1 },
    { ...at(1), reason: "malformed_json", events: 0 },
  ], WINDOW);
  assert.equal(drawnChart(some, "dlq chart").marks.rect, 2);
  const none = dlqChart([{ ...at(0), reason: "all reasons", events: 0 }], WINDOW);
  assert.match(none, /No dead-letter events in the window/);
});

Deno.test("gapsChart() places a dot per gap and gapsTable() lists open gaps first", () => {
  const gaps: TradeGap[] = [
    { pair: "BTCUSDT", fromTradeId: 7, toTradeId: 8, missingCount: 2, gapAfterAt: minute(1), firstSeenAt: minute(3) },
    {
      pair: "ETHUSDT",
      fromTradeId: 50,
      toTradeId: 59,
      missingCount: 10,
      gapAfterAt: minute(2),
      firstSeenAt: minute(3),
    },
  ].map((gap, i) => ({ ...gap, status: i === 0 ? "healed" : "open", healedBy: i === 0 ? "archive" : null }));
  const svg = gapsChart(gaps, { start: minute(0), end: minute(5) });
  assert.equal(drawnChart(svg, "gaps chart").marks.dot, 2);
  const table = gapsTable(gaps);
  assert.ok(table.indexOf("ETHUSDT") < table.indexOf("BTCUSDT"), "open gaps come first");
  assert.match(table, /50–59/);
  assert.match(table, /healed by/);
  assert.match(table, />archive</);
});

Deno.test("archiveTable() lists overlapping and disagreeing trades per pair and day, or says there were none", () => {
  const table = archiveTable([{
    pair: "BTCUSDT",
    tradeDate: "2025-03-03",
    archiveTrades: 1200,
    liveTrades: 1100,
    overlappingTrades: 1000,
    disagreeingTrades: 2,
    differingFields: ["is_buyer_maker", "price"],
  }]);
  assert.match(table, /2025-03-03/);
  assert.match(table, /1,000/);
  assert.match(table, /is_buyer_maker, price/);
  assert.match(archiveTable([]), /No archive imports in the window/);
});

Deno.test("lakeFilesChart() draws a bar per hour labelled with total and average size", () => {
  const svg = lakeFilesChart([
    { hourStartAt: new Date("2025-03-01T22:00:00Z"), files: 3600, bytes: 3600 * 2048 },
    { hourStartAt: new Date("2025-03-01T23:00:00Z"), files: 1, bytes: 7 * 1024 * 1024 },
  ]);
  const { marks } = drawnChart(svg, "lake files chart");
  assert.equal(marks.rect, 2);
  assert.match(svg, /7\.03 MB, ⌀ 2\.00 KB/);
  assert.match(svg, /7\.00 MB, ⌀ 7\.00 MB/);
});

Deno.test("summaryTable() and statusTable() render one row per pair, with escaped text", () => {
  const summary = summaryTable([{
    pair: "BTC<USDT",
    trades: 1234,
    volume: 2.5,
    quoteVolume: 150_000,
    open: 100,
    close: 101,
    high: 102,
    low: 99,
    vwap: 100.5,
    takerBuyShare: 0.6,
    lastMinuteAt: minute(0),
  }]);
  assert.match(summary, /BTC&lt;USDT/);
  assert.match(summary, /\+1\.00%/);
  assert.match(summary, /1,234/);
  const status = statusTable([window(minute(0), "stale")], {
    pairs: [{ ...SCORE, klinesChecked: 9, klinesMatched: 8, dlqEvents: 2 }],
    dlqByReason: { malformed_json: 4, invalid_symbol: 2 },
    dlqWithoutPair: 4,
  });
  assert.match(status, /stale/);
  assert.equal(status.match(/<tr>/g)?.length, 2); // header and one pair
  assert.match(status, />8 of 9</);
  assert.match(status, />3 \/ 2 \/ 1</);
  assert.match(status, /DLQ events in the window: 6, of which 4 carried no pair/);
});

const SCORE: PairScore = {
  market: "spot",
  pair: "BTCUSDT",
  trades: 1234,
  open: 100,
  close: 101.5,
  closeText: "101.50000000",
  lastMinuteAt: minute(9),
  klinesChecked: 0,
  klinesMatched: 0,
  gapsFound: 3,
  gapsHealed: 2,
  gapsOpen: 1,
  idsHealed: 191,
  dlqEvents: 0,
  status: "ok",
};

Deno.test("headline() gives each pair one line: price and change, trades, klines, gaps, status", () => {
  const html = headline({
    pairs: [
      { ...SCORE, klinesChecked: 9, klinesMatched: 9 },
      { ...SCORE, market: "usdm", close: null, open: null, closeText: null },
    ],
    dlqByReason: {},
    dlqWithoutPair: 0,
  }, WINDOW);
  assert.equal(html.match(/<li>/g)?.length, 2);
  assert.match(html, /<b>BTCUSDT<\/b> 101\.5 <span[^>]*>\+1\.50%<\/span> over 10 min · 1,234 trades/);
  assert.match(html, /klines 9 of 9 minutes match/);
  assert.match(html, /3 gaps found, 2 healed \(191 ids\), 1 open/);
  assert.match(html, /BTCUSDT \(usdm\)<\/b> · 1,234 trades · <span[^>]*>klines not checked yet/);
});

for (const minutes of [2, 60, 1440, 3 * 1440]) {
  Deno.test(`timeTicks() over ${minutes} minutes: 2 to 10 ticks, increasing, with labels that never repeat`, () => {
    const start = new Date(Date.parse("2025-03-01T22:17:00Z"));
    const end = new Date(start.getTime() + minutes * 60_000);
    for (const bucketMs of [60_000, 300_000]) {
      if (bucketMs > minutes * 60_000) continue;
      const ticks = timeTicks(start, end, bucketMs);
      assert.ok(ticks.length >= 2 && ticks.length <= 10, `${ticks.length} ticks`);
      const steps = ticks.slice(1).map((tick, i) => tick.getTime() - ticks[i]!.getTime());
      assert.ok(steps.every((step) => step === steps[0] && step >= bucketMs), "one step, at least a bucket");
      assert.ok(ticks.every((tick) => tick >= start && tick <= end), "inside the axis");
      const labels = timeTickLabels(ticks);
      assert.equal(new Set(labels).size, labels.length, labels.join(" "));
    }
  });
}

Deno.test("timeTickLabels() show HH:MM and the date at midnight, with dates throughout once a time repeats", () => {
  const at = (iso: string) => new Date(iso);
  assert.deepEqual(timeTickLabels([at("2025-03-01T16:36:00Z"), at("2025-03-02T00:00:00Z")]), ["16:36", "03-02"]);
  assert.deepEqual(
    timeTickLabels([at("2025-03-01T12:00:00Z"), at("2025-03-02T00:00:00Z"), at("2025-03-02T12:00:00Z")]),
    ["03-01 12:00", "03-02", "03-02 12:00"],
  );
  assert.equal(timeTickLabel(at("2025-03-01T16:00:00Z"), true), "03-01 16:00");
});

Deno.test("no chart makes Plot warn, with one minute of data or a full window", () => {
  const one = { start: minute(0), end: minute(1) };
  const latency: LatencyMinute[] = [{
    minuteAt: minute(0),
    samples: 1,
    ingestP50Ms: 5,
    ingestP95Ms: 6,
    ingestP99Ms: 7,
    lakeP50Ms: 500,
    lakeP95Ms: 600,
    lakeP99Ms: 700,
  }];
  for (const w of [one, WINDOW]) {
    candlestickChart(CANDLES.slice(0, 1), "BTCUSDT", w);
    volumeChart(FLOW.slice(0, 1), "BTCUSDT", w);
    imbalanceChart(FLOW.slice(0, 1), "BTCUSDT", w);
    cumulativeDeltaChart(FLOW.slice(0, 1), "BTCUSDT", w);
    latencyChart(latency, { pair: "BTCUSDT", stage: "ingest", warnLatencyMs: 2000, window: w });
    latencyChart(latency, { pair: "BTCUSDT", stage: "lake", window: w });
    freshnessChart([window(minute(0), "ok")], { pair: "BTCUSDT", staleAfterSeconds: 60, window: w });
    healthStatusChart([window(minute(0), "ok")], w);
  }
  assert.deepEqual(takeChartWarnings(), []);
});

Deno.test("a time chart's axis spans its window, ticked every 2 minutes over 10, the date at midnight", () => {
  const svg = candlestickChart(CANDLES, "BTCUSDT", WINDOW);
  const ticks = [...svg.matchAll(/<text[^>]*>(\d\d:\d\d|\d\d-\d\d)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(ticks, ["23:58", "03-02", "00:02", "00:04", "00:06", "00:08"]);
});
