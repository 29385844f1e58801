import assert from "node:assert/strict";
import { buildFuturesKlines, buildKlines, klineWindow } from "../../../../tasks/lib/exchange/klines.ts";
import { fixtureTrade } from "./_trades.ts";

const MINUTE = 60_000;
const BASE = 1_700_000_040_000; // a minute boundary

const TRADES = [
  fixtureTrade(1, BASE + 1000, "100.00", "1.5", false), // quote 150.00
  fixtureTrade(2, BASE + 2000, "101.50", "0.2", true), // quote 20.30
  fixtureTrade(3, BASE + 59_999, "99.99", "0.01", false), // quote 0.9999
  // nothing in the second minute
  fixtureTrade(4, BASE + 2 * MINUTE, "100.10", "3", true), // quote 300.30
];

Deno.test("buildKlines() sums a hand-computed fixture exactly", () => {
  assert.deepEqual(buildKlines(TRADES, MINUTE, "ms"), [
    [
      BASE,
      "100.00000000",
      "101.50000000",
      "99.99000000",
      "99.99000000",
      "1.71000000",
      BASE + 59_999,
      "171.29990000",
      3,
      "1.51000000", // taker buys are the m=false trades: 1.5 + 0.01
      "150.99990000",
      "0",
    ],
    [
      BASE + MINUTE,
      "99.99000000",
      "99.99000000",
      "99.99000000",
      "99.99000000",
      "0.00000000",
      BASE + 2 * MINUTE - 1,
      "0.00000000",
      0,
      "0.00000000",
      "0.00000000",
      "0",
    ],
    [
      BASE + 2 * MINUTE,
      "100.10000000",
      "100.10000000",
      "100.10000000",
      "100.10000000",
      "3.00000000",
      BASE + 3 * MINUTE - 1,
      "300.30000000",
      1,
      "0.00000000",
      "0.00000000",
      "0",
    ],
  ]);
});

Deno.test("buildKlines() takes open and close by id order and shows µs times on request", () => {
  const [row] = buildKlines(TRADES.slice(0, 2), MINUTE, "us");
  assert.equal(row![0], BASE * 1000);
  assert.equal(row![6], (BASE + MINUTE) * 1000 - 1);
  assert.equal(row![1], "100.00000000");
  assert.equal(row![4], "101.50000000");
  assert.deepEqual(buildKlines([], MINUTE, "ms"), []);
});

Deno.test("klineWindow() returns the most recent klines up to the latest trade without a start", () => {
  assert.deepEqual(klineWindow({ intervalMs: MINUTE, limit: 3 }, BASE + 90_000), {
    firstOpenMs: BASE - MINUTE,
    lastOpenMs: BASE + MINUTE,
  });
  assert.equal(klineWindow({ intervalMs: MINUTE, limit: 3 }, undefined), undefined);
});

Deno.test("klineWindow() starts at the first open time at or after startTime and stops at endTime", () => {
  assert.deepEqual(klineWindow({ intervalMs: MINUTE, limit: 500, startTimeMs: BASE + 1 }, 0), {
    firstOpenMs: BASE + MINUTE,
    lastOpenMs: BASE + 500 * MINUTE,
  });
  assert.deepEqual(
    klineWindow({ intervalMs: MINUTE, limit: 500, startTimeMs: BASE, endTimeMs: BASE + MINUTE + 5 }, 0),
    { firstOpenMs: BASE, lastOpenMs: BASE + MINUTE },
  );
  assert.equal(klineWindow({ intervalMs: MINUTE, limit: 5, startTimeMs: BASE + 1, endTimeMs: BASE + 2 }, 0), undefined);
});

Deno.test("buildFuturesKlines() leaves out an insurance-fund trade 2 % above the market (2023-04-05 00:01 UTC)", () => {
  const market = [
    fixtureTrade(1, BASE + 1000, "28150.0", "0.100", false),
    fixtureTrade(2, BASE + 2000, "28154.2", "0.002", true),
    fixtureTrade(4, BASE + 4000, "28152.1", "0.010", false),
  ].map((trade) => ({ ...trade, tradeType: "MARKET" as const }));
  const insurance = {
    ...fixtureTrade(3, BASE + 3000, "28722.5", "0.001", false),
    tradeType: "INSURANCE_FUND" as const,
  };
  const all = [market[0]!, market[1]!, insurance, market[2]!];
  const [row] = buildFuturesKlines(all, MINUTE, "ms");
  assert.deepEqual(row, buildKlines(market, MINUTE, "ms")[0]);
  assert.equal(row![2], "28154.20000000", "high");
  assert.equal(row![5], "0.11200000", "volume");
  assert.equal(row![8], 3, "count");
  assert.equal(buildKlines(all, MINUTE, "ms")[0]![2], "28722.50000000", "spot's rule would count it");
});

Deno.test("buildFuturesKlines() shows a minute of only non-market trades flat at the previous close", () => {
  const trades = [
    { ...fixtureTrade(1, BASE, "100.0", "1", false), tradeType: "MARKET" as const },
    { ...fixtureTrade(2, BASE + MINUTE, "102.0", "0.001", false), tradeType: "ADL" as const },
    { ...fixtureTrade(3, BASE + 2 * MINUTE, "100.5", "1", true), tradeType: "MARKET" as const },
  ];
  const rows = buildFuturesKlines(trades, MINUTE, "ms");
  assert.deepEqual(rows.map((row) => [row[1], row[2], row[5], row[8]]), [
    ["100.00000000", "100.00000000", "1.00000000", 1],
    ["100.00000000", "100.00000000", "0.00000000", 0],
    ["100.50000000", "100.50000000", "1.00000000", 1],
  ]);
});
