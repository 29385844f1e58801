/**
 * The spot–perp charts as standalone SVG strings: premium over time, its distribution, taker buy share on both
 * markets, and both prices with the futures' non-market trades marked. Pure: data in, markup out.
 */
import { AMBER, BLUE, bucketMiddle, emptyChart, formatMinute, GREY, Plot, RED, renderSvg, timeAxis } from "./_plot.ts";
import type { Window } from "./queries.ts";
import type { NonMarketTrade, PremiumMinute, TakerShareMinute } from "./spot_perp_queries.ts";

const PURPLE = "#7b3294";

/** A minute's point is drawn in the middle of the minute. */
const middle = (d: { minuteAt: Date }) => bucketMiddle(d.minuteAt);

/** The perpetual's premium over spot per minute, in basis points: on closes (solid) and on VWAPs (dashed). */
export function premiumChart(premium: readonly PremiumMinute[], pair: string, window: Window): string {
  if (premium.length === 0) return emptyChart("premium chart", `No minute of ${pair} traded on both markets`);
  return renderSvg({
    ariaLabel: "premium chart",
    height: 260,
    marginLeft: 70,
    grid: true,
    x: timeAxis(window),
    y: { label: `${pair} perp − spot (bps)`, nice: true },
    marks: [
      Plot.ruleY([0], { stroke: GREY }),
      Plot.lineY(premium, { x: middle, y: "closeBps", stroke: BLUE, strokeWidth: 1.5 }),
      Plot.dot(premium, { x: middle, y: "closeBps", r: 2, fill: BLUE, title: premiumTitle }),
      Plot.lineY(premium, { x: middle, y: "vwapBps", stroke: AMBER, strokeWidth: 1.5, strokeDasharray: "4,2" }),
    ],
  }, [
    { label: "close vs close", color: BLUE, line: "solid" },
    { label: "VWAP vs VWAP", color: AMBER, line: "dashed" },
  ]);
}

function premiumTitle(d: PremiumMinute): string {
  return `${formatMinute(d.minuteAt)}\nspot ${d.spotClose} · perp ${d.perpClose}\n${d.closeBps.toFixed(2)} bps`;
}

/** How often each premium (on closes) occurred: minutes per bin of basis points. */
export function premiumDistributionChart(premium: readonly PremiumMinute[], pair: string): string {
  if (premium.length === 0) return emptyChart("premium distribution", `No minute of ${pair} traded on both markets`);
  return renderSvg({
    ariaLabel: "premium distribution",
    height: 220,
    marginLeft: 70,
    grid: true,
    x: { label: `${pair} perp − spot on closes (bps)` },
    y: { label: "minutes" },
    marks: [
      Plot.rectY(premium, { ...Plot.binX({ y: "count" }, { x: "closeBps", thresholds: 30 }), fill: BLUE }),
      Plot.ruleY([0], { stroke: GREY }),
    ],
  });
}

/** Share of each market's volume bought by takers, per minute; 0.5 is balanced. */
export function takerShareChart(shares: readonly TakerShareMinute[], pair: string, window: Window): string {
  if (shares.length === 0) return emptyChart("taker buy share chart", `No volume of ${pair} in the window`);
  return renderSvg({
    ariaLabel: "taker buy share chart",
    height: 240,
    marginLeft: 70,
    grid: true,
    x: timeAxis(window),
    y: { label: `${pair} taker buy share`, domain: [0, 1] },
    marks: [
      Plot.ruleY([0.5], { stroke: GREY, strokeDasharray: "2,2" }),
      Plot.lineY(shares, {
        x: middle,
        y: "takerBuyShare",
        z: "market",
        stroke: (d: TakerShareMinute) => d.market === "usdm" ? PURPLE : BLUE,
        strokeWidth: 1.5,
      }),
    ],
  }, [{ label: "spot", color: BLUE, line: "solid" }, { label: "usdm perp", color: PURPLE, line: "solid" }]);
}

/**
 * Spot and perp closes, with the perp's non-market trades (insurance fund, ADL, NA) as marked events sized by their
 * quantity: trades at a price of their own, which the futures candles leave out.
 */
export function priceWithEventsChart(
  premium: readonly PremiumMinute[],
  events: readonly NonMarketTrade[],
  pair: string,
  window: Window,
): string {
  if (premium.length === 0) return emptyChart("spot and perp prices", `No minute of ${pair} traded on both markets`);
  return renderSvg({
    ariaLabel: "spot and perp prices",
    height: 300,
    marginLeft: 70,
    grid: true,
    x: { ...timeAxis(window), inset: 12 },
    y: { label: `${pair} price`, nice: true, zero: false, inset: 12 },
    r: { range: [3, 12] },
    marks: [
      Plot.lineY(premium, { x: middle, y: "spotClose", stroke: BLUE, strokeWidth: 1.5 }),
      Plot.lineY(premium, { x: middle, y: "perpClose", stroke: PURPLE, strokeWidth: 1.5 }),
      Plot.dot(events, {
        x: "tradeAt",
        y: "price",
        r: "quantity",
        fill: RED,
        fillOpacity: 0.7,
        stroke: "white",
        title: (d: NonMarketTrade) => `${formatMinute(d.tradeAt)} ${d.tradeType}\n${d.quantity} @ ${d.price}`,
      }),
    ],
  }, [
    { label: "spot close", color: BLUE, line: "solid" },
    { label: "perp close", color: PURPLE, line: "solid" },
    { label: `non-market trades (${events.length}; size = quantity)`, color: RED },
  ]);
}
