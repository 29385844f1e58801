/**
 * The notebooks' queries against marts the real builder made from a fixture lake: the window ends at the latest
 * data, the busiest pair is picked, DECIMALs come back as numbers, and a missing or empty database is NoData.
 */
import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { lakeHours, latestHealth, loadHealth } from "../../../../tasks/lib/notebooks/health_queries.ts";
import { loadNotebookParams, type NotebookParams } from "../../../../tasks/lib/notebooks/params.ts";
import { isNoData, loadMarket } from "../../../../tasks/lib/notebooks/queries.ts";
import { FIXTURE_MINUTES, FIXTURE_NOW_MS, FIXTURE_START_MS, fixturePaths, writeFixtureDatabase } from "./_fixture.ts";

function paramsFor(paths: { duckdbPath: string; lakeDir: string }, extra: Record<string, string> = {}): NotebookParams {
  return loadNotebookParams(
    new Map(Object.entries({ DUCKDB_PATH: paths.duckdbPath, LAKE_DIR: paths.lakeDir, ...extra })),
  );
}

Deno.test("loadMarket() and loadHealth() read the fixture marts into numbers", async (t) => {
  const paths = fixturePaths();
  try {
    await writeFixtureDatabase(paths);
    const params = paramsFor(paths);

    await t.step("loadMarket() ends a live window at the refresh and picks the busiest pair", async () => {
      const market = await loadMarket(params);
      assert.ok(!isNoData(market), JSON.stringify(market));
      // The last trade is 2 minutes before the refresh, within the window: the window ends at the refresh, so a
      // stopped pipeline shows as stale at the right edge.
      assert.equal(market.window.end.getTime(), FIXTURE_NOW_MS);
      assert.equal(market.window.end.getTime() - market.window.start.getTime(), 60 * 60_000);
      assert.equal(market.pair, "BTCUSDT"); // 288 trades in the window against 280
      assert.equal(market.candles.length, FIXTURE_MINUTES);
      assert.equal(market.flow.length, FIXTURE_MINUTES);
      assert.deepEqual(market.summary.map((s) => s.pair).sort(), ["BTCUSDT", "ETHUSDT"]);
      const candle = market.candles[0]!;
      assert.equal(typeof candle.open, "number");
      assert.ok(
        candle.low <= Math.min(candle.open, candle.close) && candle.high >= Math.max(candle.open, candle.close),
      );
      const trades = market.candles.reduce((sum, c) => sum + c.tradeCount, 0);
      assert.equal(market.tradeSizes.reduce((sum, b) => sum + b.trades, 0), trades, "every trade in one size bucket");
      const summary = market.summary.find((s) => s.pair === market.pair)!;
      assert.equal(summary.trades, trades);
      assert.ok(summary.takerBuyShare > 0 && summary.takerBuyShare < 1);
      assert.equal(market.refresh?.nowAt.getTime(), FIXTURE_NOW_MS);
    });

    await t.step("loadMarket() follows NOTEBOOK_PAIR, and says so when that pair did not trade", async () => {
      const eth = await loadMarket(paramsFor(paths, { NOTEBOOK_PAIR: "ethusdt" }));
      assert.ok(!isNoData(eth) && eth.pair === "ETHUSDT");
      const missing = await loadMarket(paramsFor(paths, { NOTEBOOK_PAIR: "DOGEUSDT" }));
      assert.ok(isNoData(missing));
      assert.match(missing.message, /No trades of `DOGEUSDT` in the window.*`BTCUSDT`, `ETHUSDT`|`ETHUSDT`, `BTCUSDT`/);
    });

    await t.step("loadMarket() keeps a short window to its minutes", async () => {
      const market = await loadMarket(paramsFor(paths, { NOTEBOOK_WINDOW_MINUTES: "5" }));
      assert.ok(!isNoData(market) && market.candles.length === 3, "5 minutes to the refresh: the last 3 traded");
    });

    await t.step("both notebooks end the window at the last trade once it is older than the window", async () => {
      // As with imported history: the last trade is 2 minutes before the refresh, the window 1 minute long.
      const short = paramsFor(paths, { NOTEBOOK_WINDOW_MINUTES: "1" });
      const market = await loadMarket(short);
      const health = await loadHealth(short);
      assert.ok(!isNoData(market) && !isNoData(health), "both sections show the last minute of data");
      assert.equal(market.window.end.getTime(), FIXTURE_START_MS + FIXTURE_MINUTES * 60_000);
      assert.deepEqual(health.window, market.window);
      assert.equal(market.candles.length, 1);
      assert.deepEqual(market.scorecard.pairs.map((p) => p.pair).sort(), ["BTCUSDT", "ETHUSDT"]);
    });

    await t.step("loadHealth() reads latency, status, gaps, DLQ and the lake's files per hour", async () => {
      const health = await loadHealth(params);
      assert.ok(!isNoData(health), JSON.stringify(health));
      assert.equal(health.latency.length, FIXTURE_MINUTES);
      assert.ok(health.latency.some((m) => m.ingestP99Ms > 2000), "the fixture's slow minutes");
      assert.deepEqual(latestHealth(health.health).map((w) => [w.pair, w.status]), [
        ["BTCUSDT", "stale"],
        ["ETHUSDT", "stale"],
      ]);
      assert.ok(health.health.some((w) => w.status === "warn"));
      assert.deepEqual(health.gaps.map((g) => [g.pair, g.missingCount, g.status, g.healedBy]).sort(), [
        ["BTCUSDT", 3, "open", null],
        ["ETHUSDT", 3, "open", null],
      ]);
      assert.deepEqual(health.archive, [], "the fixture imported no archive");
      // The fixture's dead letters by window and reason: 23:30 two malformed, 23:40 two invalid decimals and a missing
      // field, 24:00 one malformed.
      assert.deepEqual(
        health.dlq.map((d) => `${d.windowStartAt.toISOString().slice(11, 16)} ${d.reason} ${d.events}`),
        [
          "23:30 malformed_json 2",
          "23:40 invalid_decimal 2",
          "23:40 missing_field 1",
          "00:00 malformed_json 1",
        ],
      );
      assert.equal(health.health.reduce((sum, w) => sum + w.dlqEvents, 0), 3, "the pairs' own events");
      assert.equal(health.lakeHours.reduce((sum, h) => sum + h.files, 0), 2 * FIXTURE_MINUTES); // a file per pair and minute
      assert.ok(health.lakeHours.every((h) => h.bytes > 0));
      assert.deepEqual(health.thresholds, params.thresholds);
    });
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("loadMarket() and loadHealth() return NoData for a missing or empty database", async () => {
  const paths = fixturePaths();
  try {
    const missing = await loadMarket(paramsFor(paths));
    assert.ok(isNoData(missing));
    assert.match(missing.message, /^\*\*No data yet — run `deno task demo`\.\*\* There is no marts database/);

    await Deno.mkdir(paths.duckdbPath.replace(/\/[^/]+$/, ""), { recursive: true });
    const instance = await DuckDBInstance.create(paths.duckdbPath); // a database without any table
    instance.closeSync();
    const empty = await loadHealth(paramsFor(paths));
    assert.ok(isNoData(empty));
    assert.match(empty.message, /has no marts yet/);
  } finally {
    await paths.cleanUp();
  }
});

Deno.test("lakeHours() counts files and bytes per hour over at least the last 24 hours of the window", () => {
  const hour = (h: number) => Date.parse("2025-03-02T00:00:00Z") + h * 3_600_000;
  const files = [
    { bytes: 10, hourStartMs: hour(-30) }, // before the 24 hours
    { bytes: 10, hourStartMs: hour(-2) },
    { bytes: 30, hourStartMs: hour(-2) },
    { bytes: 5, hourStartMs: hour(0) },
    { bytes: 5, hourStartMs: hour(1) }, // at the window's end
  ];
  const window = { start: new Date(hour(0)), end: new Date(hour(1)) };
  assert.deepEqual(lakeHours(files, window, 60), [
    { hourStartAt: new Date(hour(-2)), files: 2, bytes: 40 },
    { hourStartAt: new Date(hour(0)), files: 1, bytes: 5 },
  ]);
});
