/**
 * The market charts as standalone SVG strings (Observable Plot, rendered with linkedom), and the per-pair summary
 * as an HTML table. Pure: data in, markup out. The pipeline-health charts are in health_charts.ts.
 */
import { BLUE, bucketMiddle, emptyChart, formatMinute, GREEN, GREY, Plot, RED, renderSvg, timeAxis } from "./_plot.ts";
import { cell, escapeHtml, formatNumber, htmlTable, rowHeader } from "./_html.ts";
import {
  type Candle,
  type FlowMinute,
  pairLabel,
  type PairSummary,
  type TradeSizeBucket,
  type Window,
} from "./queries.ts";
import type { Market } from "../market.ts";
import type { PairScore, Scorecard } from "../warehouse/scorecard.ts";

export * from "./health_charts.ts";

const MINUTE_MS = 60_000;

/**
 * One-minute candlesticks (wick high-low, body open-close, green up, red down) with the VWAP line over them, each
 * drawn in the middle of its minute, over the whole `window`.
 */
export function candlestickChart(candles: readonly Candle[], pair: string, window: Window): string {
  if (candles.length === 0) return emptyChart("candlestick chart", `No candles of ${pair} in the window`);
  const minutes = (window.end.getTime() - window.start.getTime()) / MINUTE_MS;
  const bodyWidth = Math.max(1, Math.min(10, (800 / minutes) * 0.6));
  const up = (d: Candle) => d.close >= d.open ? GREEN : RED;
  const middle = (d: Candle) => bucketMiddle(d.minuteAt);
  return renderSvg({
    ariaLabel: "candlestick chart",
    height: 340,
    marginLeft: 70,
    marginRight: 20,
    grid: true,
    x: timeAxis(window),
    y: { label: `${pair} price`, nice: true, zero: false },
    marks: [
      Plot.ruleX(candles, { x: middle, y1: "low", y2: "high", stroke: GREY }),
      Plot.ruleX(candles, {
        x: middle,
        y1: "open",
        y2: "close",
        stroke: up,
        strokeWidth: bodyWidth,
        title: candleTitle,
      }),
      Plot.lineY(candles, { x: middle, y: "vwap", stroke: BLUE, strokeWidth: 1.5, strokeDasharray: "4,2" }),
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
export function volumeChart(flow: readonly FlowMinute[], pair: string, window: Window): string {
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
    x: timeAxis(window),
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
export function imbalanceChart(flow: readonly FlowMinute[], pair: string, window: Window): string {
  const bars = flow.filter((d) => d.imbalance !== null);
  if (bars.length === 0) return emptyChart("imbalance chart", `No taker volume of ${pair} in the window`);
  return renderSvg({
    ariaLabel: "imbalance chart",
    height: 200,
    marginLeft: 70,
    grid: true,
    x: timeAxis(window),
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

/**
 * Cumulative delta (Σ taker buy − sell volume since 00:00 UTC) as a step per minute, ending where the last minute
 * ends; it restarts at midnight.
 */
export function cumulativeDeltaChart(flow: readonly FlowMinute[], pair: string, window: Window): string {
  if (flow.length === 0) return emptyChart("cumulative delta chart", `No trades of ${pair} in the window`);
  // Each minute's value holds until the minute ends: the last step is drawn to the end of its minute, not cut off.
  const last = flow[flow.length - 1]!;
  const steps = [...flow, { ...last, minuteAt: new Date(last.minuteAt.getTime() + MINUTE_MS) }];
  return renderSvg({
    ariaLabel: "cumulative delta chart",
    height: 220,
    marginLeft: 70,
    grid: true,
    x: timeAxis(window, { cover: [steps[steps.length - 1]!.minuteAt] }),
    y: { label: `${pair} cumulative delta (base)` },
    marks: [
      Plot.ruleY([0], { stroke: GREY }),
      Plot.lineY(steps, { x: "minuteAt", y: "cumulativeDelta", stroke: BLUE, strokeWidth: 1.5, curve: "step-after" }),
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

/** The colour of each health status (as in the health notebook). */
const STATUS_COLOR: Record<string, string> = { ok: GREEN, warn: "#f39c12", stale: RED };

/**
 * The report's first lines: per pair, the last price, its change over the window, the trades, the kline check, the
 * trade-id gaps and the latest health status, from the scorecard (the same figures as the demo's summary).
 */
export function headline(card: Scorecard, window: Window): string {
  const minutes = Math.round((window.end.getTime() - window.start.getTime()) / MINUTE_MS);
  if (card.pairs.length === 0) return `<p class="headline" style="color:${GREY}">No trades in the window</p>`;
  const lines = card.pairs.map((p) => `<li>${headlineLine(p, minutes)}</li>`).join("");
  return `<ul class="headline" style="list-style:none;padding-left:0;font-size:15px;line-height:1.7;` +
    `font-variant-numeric:tabular-nums">${lines}</ul>`;
}

function headlineLine(p: PairScore, minutes: number): string {
  const span = (text: string, color?: string) =>
    color === undefined ? escapeHtml(text) : `<span style="color:${color};font-weight:bold">${escapeHtml(text)}</span>`;
  let name = `<b>${escapeHtml(pairLabel(p.pair, p.market as Market))}</b>`;
  if (p.close !== null && p.open !== null && p.closeText !== null) {
    const change = p.open === 0 ? 0 : (p.close - p.open) / p.open;
    const changeText = `${change >= 0 ? "+" : ""}${(change * 100).toFixed(2)}%`;
    // The exact decimal the marts keep, without the trailing zeros of its scale.
    const close = p.closeText.includes(".") ? p.closeText.replace(/0+$/, "").replace(/\.$/, "") : p.closeText;
    name += ` ${span(close)} ${span(changeText, change >= 0 ? GREEN : RED)} over ${minutes} min`;
  }
  const parts = [name];
  parts.push(`${p.trades.toLocaleString("en-US")} trades`);
  parts.push(
    p.klinesChecked === 0 ? span("klines not checked yet (deno task reconcile)", GREY) : span(
      `klines ${p.klinesMatched} of ${p.klinesChecked} minutes match`,
      p.klinesMatched === p.klinesChecked ? GREEN : RED,
    ),
  );
  parts.push(span(gapsText(p), p.gapsOpen > 0 ? RED : undefined));
  if (p.status !== null) parts.push(span(p.status, STATUS_COLOR[p.status]));
  return parts.join(" · ");
}

/** `3 gaps found, 3 healed (191 ids), 0 open`, or `no trade-id gaps`. */
export function gapsText(p: Pick<PairScore, "gapsFound" | "gapsHealed" | "gapsOpen" | "idsHealed">): string {
  if (p.gapsFound === 0) return "no trade-id gaps";
  return `${p.gapsFound} ${p.gapsFound === 1 ? "gap" : "gaps"} found, ${p.gapsHealed} healed (${p.idsHealed} ids), ` +
    `${p.gapsOpen} open`;
}
