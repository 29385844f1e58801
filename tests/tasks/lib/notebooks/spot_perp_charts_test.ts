/** The spot–perp charts draw their data: premium lines, its distribution, both markets' taker share, marked events. */
import assert from "node:assert/strict";
import {
  premiumChart,
  premiumDistributionChart,
  priceWithEventsChart,
  takerShareChart,
} from "../../../../tasks/lib/notebooks/spot_perp_charts.ts";
import type { PremiumMinute, TakerShareMinute } from "../../../../tasks/lib/notebooks/spot_perp_queries.ts";
import { drawnChart } from "./_svg.ts";

const T0 = Date.parse("2025-03-01T12:00:00Z");
const minute = (i: number) => new Date(T0 + i * 60_000);
const WINDOW = { start: minute(0), end: minute(4) };

const PREMIUM: PremiumMinute[] = [0, 1, 2, 3].map((i) => ({
  minuteAt: minute(i),
  spotClose: 100_000 + i,
  perpClose: 100_050 + 2 * i,
  closeBps: 5 + i / 100,
  vwapBps: 4.5 + i / 50,
}));

Deno.test("premiumChart() draws the close and the VWAP premium as two lines, with a legend", () => {
  const svg = premiumChart(PREMIUM, "BTCUSDT", WINDOW);
  assert.equal(drawnChart(svg, "premium chart").marks.line, 2);
  assert.match(svg, /VWAP vs VWAP/);
});

Deno.test("premiumDistributionChart() draws bars of minutes per premium bin", () => {
  const { marks } = drawnChart(premiumDistributionChart(PREMIUM, "BTCUSDT"), "premium distribution");
  assert.ok((marks.rect ?? 0) >= 1);
});

Deno.test("takerShareChart() draws one line per market", () => {
  const shares: TakerShareMinute[] = [0, 1, 2].flatMap((i) => [
    { minuteAt: minute(i), market: "spot" as const, takerBuyShare: 0.4 + i / 10 },
    { minuteAt: minute(i), market: "usdm" as const, takerBuyShare: 0.6 - i / 10 },
  ]);
  assert.equal(drawnChart(takerShareChart(shares, "BTCUSDT", WINDOW), "taker buy share chart").marks.line, 2);
});

Deno.test("priceWithEventsChart() marks each non-market trade on both markets' prices", () => {
  const svg = priceWithEventsChart(
    PREMIUM,
    [
      { tradeAt: minute(1), tradeType: "INSURANCE_FUND", price: 102_050, quantity: 0.001 },
      { tradeAt: minute(2), tradeType: "ADL", price: 99_000, quantity: 0.5 },
    ],
    "BTCUSDT",
    WINDOW,
  );
  const { marks } = drawnChart(svg, "spot and perp prices");
  assert.equal(marks.line, 2);
  assert.equal(marks.dot, 2);
  assert.match(svg, /INSURANCE_FUND/);
});

Deno.test("the spot–perp charts say so when no minute traded on both markets", () => {
  for (
    const svg of [
      premiumChart([], "X", WINDOW),
      premiumDistributionChart([], "X"),
      priceWithEventsChart([], [], "X", WINDOW),
    ]
  ) {
    assert.match(svg, /No minute of X traded on both markets/);
  }
});
