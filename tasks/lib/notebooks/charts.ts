/**
 * The market charts as standalone SVG strings (Observable Plot, rendered with linkedom), and the per-pair summary
 * as an HTML table. Pure: data in, markup out. The pipeline-health charts are in health_charts.ts.
 */
import { BLUE, emptyChart, formatMinute, GREEN, GREY, Plot, RED, renderSvg, utcAxis } from "./_plot.ts";
import { cell, formatNumber, htmlTable, rowHeader } from "./_html.ts";
import type { Candle, FlowMinute, PairSummary, TradeSizeBucket } from "./queries.ts";

export * from "./health_charts.ts";

const MINUTE_MS = 60_000;

/** One-minute candlesticks (wick high-low, body open-close, green up, red down) with the VWAP line over them. */
export function candlestickChart(candles: readonly Candle[], pair: string): string {
  if (candles.length === 0) return emptyChart("candlestick chart", `No candles of ${pair} in the window`);
  const bodyWidth = Math.max(1, Math.min(10, (700 / candles.length) * 0.6));
  const up = (d: Candle) => d.close >= d.open ? GREEN : RED;
  return renderSvg({
    ariaLabel: "candlestick chart",
    height: 340,
    marginLeft: 70,
    marginRight: 20,
    grid: true,
    x: utcAxis(),
    y: { label: `${pair} price`, nice: true, zero: false },
    marks: [
      Plot.ruleX(candles, { x: "minuteAt", y1: "low", y2: "high", stroke: GREY }),
      Plot.ruleX(candles, {
        x: "minuteAt",
        y1: "open",
        y2: "close",
        stroke: up,
        strokeWidth: bodyWidth,
        title: candleTitle,
      }),
      Plot.lineY(candles, { x: "minuteAt", y: "vwap", stroke: BLUE, strokeWidth: 1.5, strokeDasharray: "4,2" }),
    ],
  }, [
    { label: "close ≥ open", color: GREEN },
    { label: "close < open", color: RED },
    { label: "VWAP (volume-weighted price)", color: BLUE, line: "dashed" },
  ]);
}

function candleTitle(d: Candle): string {
  return `${
    formatMinute(d.minuteAt)
  }\nO ${d.open} H ${d.high} L ${d.low} C ${d.close}\nVWAP ${d.vwap} · ${d.tradeCount} trades`;
}

/** Base volume per minute split by taker side: buys above the axis, sells below. */
export function volumeChart(flow: readonly FlowMinute[], pair: string): string {
  if (flow.length === 0) return emptyChart("volume chart", `No trades of ${pair} in the window`);
  const bars = flow.flatMap((d) => [
    { x1: d.minuteAt, x2: new Date(d.minuteAt.getTime() + MINUTE_MS), y: d.buyVolume, side: "buy" },
    { x1: d.minuteAt, x2: new Date(d.minuteAt.getTime() + MINUTE_MS), y: -d.sellVolume, side: "sell" },
  ]).filter((bar) => bar.y !== 0);
  return renderSvg({
    ariaLabel: "volume chart",
    height: 240,
    marginLeft: 70,
    grid: true,
    x: utcAxis(),
    y: { label: `${pair} volume (↑ taker buys, ↓ taker sells)`, tickFormat: (v: number) => String(Math.abs(v)) },
    marks: [
      Plot.rectY(bars, {
        x1: "x1",
        x2: "x2",
        y1: 0,
        y2: "y",
        fill: (d) => d.side === "buy" ? GREEN : RED,
        insetLeft: 0.5,
        insetRight: 0.5,
      }),
      Plot.ruleY([0], { stroke: GREY }),
    ],
  }, [{ label: "taker buys", color: GREEN }, { label: "taker sells", color: RED }]);
}

/** Order-flow imbalance per minute, (buy − sell) / (buy + sell), from −1 (all sells) to +1 (all buys). */
export function imbalanceChart(flow: readonly FlowMinute[], pair: string): string {
  const bars = flow.filter((d) => d.imbalance !== null);
  if (bars.length === 0) return emptyChart("imbalance chart", `No taker volume of ${pair} in the window`);
  return renderSvg({
    ariaLabel: "imbalance chart",
    height: 200,
    marginLeft: 70,
    grid: true,
    x: utcAxis(),
    y: { label: "imbalance", domain: [-1, 1] },
    marks: [
      Plot.rectY(bars, {
        x1: "minuteAt",
        x2: (d: FlowMinute) => new Date(d.minuteAt.getTime() + MINUTE_MS),
        y1: 0,
        y2: "imbalance",
        fill: (d: FlowMinute) => d.imbalance! >= 0 ? GREEN : RED,
        insetLeft: 0.5,
        insetRight: 0.5,
      }),
      Plot.ruleY([0], { stroke: GREY }),
    ],
  }, [{ label: "buyers lead", color: GREEN }, { label: "sellers lead", color: RED }]);
}

/** Cumulative delta (Σ taker buy − sell volume since 00:00 UTC) per minute; it restarts at midnight. */
export function cumulativeDeltaChart(flow: readonly FlowMinute[], pair: string): string {
  if (flow.length === 0) return emptyChart("cumulative delta chart", `No trades of ${pair} in the window`);
  return renderSvg({
    ariaLabel: "cumulative delta chart",
    height: 220,
    marginLeft: 70,
    grid: true,
    x: utcAxis(),
    y: { label: `${pair} cumulative delta (base)` },
    marks: [
      Plot.ruleY([0], { stroke: GREY }),
      Plot.areaY(flow, { x: "minuteAt", y: "cumulativeDelta", fill: BLUE, fillOpacity: 0.12, curve: "step-after" }),
      Plot.lineY(flow, { x: "minuteAt", y: "cumulativeDelta", stroke: BLUE, strokeWidth: 1.5, curve: "step-after" }),
    ],
  }, [{ label: "cumulative delta", color: BLUE, line: "solid" }]);
}

/** Trades per quarter-decade of quantity (log scale), buys above the axis and sells below. */
export function tradeSizeChart(buckets: readonly TradeSizeBucket[], pair: string): string {
  if (buckets.length === 0) return emptyChart("trade size chart", `No trades of ${pair} in the window`);
  return renderSvg({
    ariaLabel: "trade size chart",
    height: 240,
    marginLeft: 60,
    grid: true,
    x: { type: "log", label: `${pair} trade size (base asset, log scale)`, tickFormat: "~g" },
    y: { label: "trades (↑ buys, ↓ sells)", tickFormat: (v: number) => String(Math.abs(v)) },
    marks: [
      Plot.rectY(buckets, {
        x1: "low",
        x2: "high",
        y1: 0,
        y2: (d: TradeSizeBucket) => d.side === "buy" ? d.trades : -d.trades,
        fill: (d: TradeSizeBucket) => d.side === "buy" ? GREEN : RED,
        insetLeft: 0.5,
        insetRight: 0.5,
      }),
      Plot.ruleY([0], { stroke: GREY }),
    ],
  }, [{ label: "taker buys", color: GREEN }, { label: "taker sells", color: RED }]);
}

/** One row per pair over the window: trades, volumes, open → close, range, VWAP and the taker-buy share. */
export function summaryTable(summary: readonly PairSummary[]): string {
  const header = [
    "pair",
    "trades",
    "volume",
    "quote volume",
    "open",
    "close",
    "change",
    "high",
    "low",
    "VWAP",
    "taker buys",
  ];
  const rows = summary.map((s) => {
    const change = s.open === 0 ? 0 : (s.close - s.open) / s.open;
    const color = change >= 0 ? GREEN : RED;
    return [
      rowHeader(s.pair),
      cell(s.trades.toLocaleString("en-US")),
      cell(formatNumber(s.volume)),
      cell(formatNumber(s.quoteVolume)),
      cell(formatNumber(s.open)),
      cell(formatNumber(s.close)),
      cell(`${change >= 0 ? "+" : ""}${(change * 100).toFixed(2)}%`, color),
      cell(formatNumber(s.high)),
      cell(formatNumber(s.low)),
      cell(formatNumber(s.vwap)),
      cell(`${(s.takerBuyShare * 100).toFixed(1)}%`),
    ].join("");
  });
  return htmlTable(header, rows, "summary");
}
