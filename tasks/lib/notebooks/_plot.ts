/**
 * Observable Plot rendered without a browser: a linkedom document stands in for the DOM, and every chart comes out
 * as one standalone `<svg>` string (no Plot legend `<figure>`, so it is valid `image/svg+xml`). Legends are drawn
 * inside the SVG instead.
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";

/** Taker buys, rising candles, healthy. */
export const GREEN = "#1a9850";
/** Taker sells, falling candles, stale. */
export const RED = "#d73027";
/** Warnings. */
export const AMBER = "#f39c12";
/** Neutral series (VWAP, p50, files). */
export const BLUE = "#3366cc";
/** Wicks, rules, quiet text. */
export const GREY = "#666666";

/** Every chart's width in px; the report page and Jupyter both fit it. */
export const CHART_WIDTH = 900;

/** One legend entry: a colour swatch (a line when `line` is set) and its label. */
export interface LegendItem {
  label: string;
  color: string;
  line?: "solid" | "dashed";
}

const SVG_NS = "http://www.w3.org/2000/svg";

// The little of linkedom's DOM used here, typed structurally: the dom lib is not loaded, because a
// `/// <reference lib="dom" />` would change the global types of every file `deno check` sees with this one.
interface SvgNode {
  tagName: string;
  outerHTML: string;
  textContent: string | null;
  setAttribute(name: string, value: string): void;
  append(...nodes: SvgNode[]): void;
  querySelectorAll(selector: string): SvgNode[];
  remove(): void;
}
interface SvgDocument {
  createElementNS(namespace: string, name: string): SvgNode;
}
const LEGEND_HEIGHT = 22;

// Plot's warnings (console.warn, and a ⚠️ drawn on the chart) would land in the notebook's output and the report:
// they are kept here instead, for the chart tests to fail on.
const warnings: string[] = [];

/** The warnings Plot gave since the last call (each one a defect of a chart function), and forgets them. */
export function takeChartWarnings(): string[] {
  return warnings.splice(0);
}

/**
 * Renders `options` with Plot into an SVG string, with `legend` drawn in a row above the plot. Every chart gets an
 * invisible frame (aria-label "frame") that marks its plot area, so a test can check that no mark lies outside it.
 */
export function renderSvg(options: Plot.PlotOptions, legend: readonly LegendItem[] = []): string {
  const { document } = parseHTML("<!DOCTYPE html><html><body></body></html>") as unknown as { document: SvgDocument };
  const marginTop = (options.marginTop ?? 20) + (legend.length > 0 ? LEGEND_HEIGHT : 0);
  const plotDocument = document as unknown as Plot.PlotOptions["document"];
  const marks = [Plot.frame({ stroke: "none", fill: "none" }), ...(options.marks ?? [])];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
  let node: SvgNode;
  try {
    node = Plot.plot({
      width: CHART_WIDTH,
      ...options,
      marks,
      marginTop,
      document: plotDocument,
    }) as unknown as SvgNode;
  } finally {
    console.warn = warn;
  }
  for (const badge of node.querySelectorAll('text[font-family="initial"]')) badge.remove(); // the ⚠️
  if (node.tagName.toLowerCase() !== "svg") {
    throw new TypeError(`Cannot render a chart as SVG: Plot returned <${node.tagName}>`);
  }
  if (legend.length > 0) {
    const right = (options.width ?? CHART_WIDTH) - ((options.marginRight ?? 20) as number);
    node.append(legendGroup(document, legend, right));
  }
  node.setAttribute("xmlns", SVG_NS);
  return node.outerHTML;
}

/** The legend row, right-aligned at `right` so the y axis label keeps the top-left corner. */
function legendGroup(document: SvgDocument, items: readonly LegendItem[], right: number): SvgNode {
  const group = document.createElementNS(SVG_NS, "g");
  group.setAttribute("class", "legend");
  group.setAttribute("font-size", "11");
  group.setAttribute("text-anchor", "start"); // Plot centres text on its <svg>
  const widths = items.map((item) => 23 + item.label.length * 6.2 + 14);
  let x = right - widths.reduce((sum, w) => sum + w, 0) + 14;
  for (const item of items) {
    const swatch = document.createElementNS(SVG_NS, item.line ? "line" : "rect");
    if (item.line) {
      for (const [name, value] of [["x1", x], ["x2", x + 18], ["y1", 11], ["y2", 11]] as const) {
        swatch.setAttribute(name, String(value));
      }
      swatch.setAttribute("stroke", item.color);
      swatch.setAttribute("stroke-width", "2.5");
      if (item.line === "dashed") swatch.setAttribute("stroke-dasharray", "5,3");
    } else {
      for (const [name, value] of [["x", x + 3], ["y", 5], ["width", 12], ["height", 12]] as const) {
        swatch.setAttribute(name, String(value));
      }
      swatch.setAttribute("fill", item.color);
    }
    const text = document.createElementNS(SVG_NS, "text");
    text.setAttribute("x", String(x + 23));
    text.setAttribute("y", "15");
    text.setAttribute("fill", "currentColor");
    text.textContent = item.label;
    group.append(swatch, text);
    x += widths.shift()!;
  }
  return group;
}

/** A chart with nothing to draw: a frame and `message` in its middle, so the cell still says something. */
export function emptyChart(ariaLabel: string, message: string, height = 120): string {
  return renderSvg({
    ariaLabel,
    height,
    x: { axis: null },
    y: { axis: null },
    marks: [Plot.frame({ stroke: "#ddd" }), Plot.text([message], { frameAnchor: "middle", fill: GREY, fontSize: 14 })],
  });
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Tick steps a time axis may use: round numbers of minutes, hours and days. */
const TICK_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map((m) => m * MINUTE_MS);

/** At most this many ticks on a time axis: a 900 px chart fits them without labels touching. */
const MAX_TIME_TICKS = 10;

/**
 * Ticks for a time axis over [start, end]: the smallest round step that is at least `bucketMs` (a chart of 5-minute
 * windows never ticks every minute) and gives at most {@link MAX_TIME_TICKS} ticks, at multiples of the step in UTC.
 * Labels never repeat, because the step is never shorter than what a label shows (a minute).
 */
export function timeTicks(start: Date, end: Date, bucketMs = MINUTE_MS): Date[] {
  const spanMs = end.getTime() - start.getTime();
  const step = TICK_STEPS_MS.find((ms) => ms >= bucketMs && Math.floor(spanMs / ms) + 1 <= MAX_TIME_TICKS) ??
    Math.ceil(spanMs / MAX_TIME_TICKS / DAY_MS) * DAY_MS;
  const ticks: Date[] = [];
  for (let at = Math.ceil(start.getTime() / step) * step; at <= end.getTime(); at += step) ticks.push(new Date(at));
  return ticks;
}

/**
 * A tick's label: `HH:MM`, or the date (`MM-DD`) at midnight; `withDate` adds the date to every label, for axes whose
 * ticks would otherwise show the same time of two days.
 */
export function timeTickLabel(at: Date, withDate = false): string {
  const iso = at.toISOString();
  const midnight = at.getUTCHours() === 0 && at.getUTCMinutes() === 0;
  if (midnight) return iso.slice(5, 10);
  return withDate ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** The labels of `ticks`: `HH:MM` (the date at midnight), with dates throughout when a time of day repeats. */
export function timeTickLabels(ticks: readonly Date[]): string[] {
  const short = ticks.map((tick) => timeTickLabel(tick));
  const withDate = new Set(short).size < short.length;
  return withDate ? ticks.map((tick) => timeTickLabel(tick, true)) : short;
}

/** What a time axis spans and how it is ticked. */
export interface TimeAxisOptions {
  /** The smallest time bucket the chart draws (a minute, a 5-minute window, an hour). Default: a minute. */
  bucketMs?: number;
  label?: string | null;
  /** Times that must be on the axis too (a bar that starts before the window): the domain widens to hold them. */
  cover?: readonly Date[];
}

/**
 * A UTC time axis over exactly [start, end] (widened to `cover`), so every section's charts line up on the window
 * they show and nothing is clipped, with {@link timeTicks} and {@link timeTickLabel}.
 */
export function timeAxis(window: { start: Date; end: Date }, options: TimeAxisOptions = {}): Plot.ScaleOptions {
  const times = [window.start, window.end, ...(options.cover ?? [])].map((d) => d.getTime());
  const start = new Date(Math.min(...times));
  const end = new Date(Math.max(...times));
  const ticks = timeTicks(start, end, options.bucketMs);
  const labels = new Map(timeTickLabels(ticks).map((label, i) => [ticks[i]!.getTime(), label]));
  return {
    type: "utc",
    label: options.label ?? null,
    domain: [start, end],
    ticks,
    tickFormat: (d: Date) => labels.get(d.getTime()) ?? timeTickLabel(d),
  };
}

/** The middle of the bucket starting at `at`: where a point of that minute (or window) is drawn. */
export function bucketMiddle(at: Date, bucketMs = MINUTE_MS): Date {
  return new Date(at.getTime() + bucketMs / 2);
}

/** `bytes` as B, KB, MB or GB with up to three significant digits. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toPrecision(3)} ${units[unit]}`;
}

/** A UTC time as `YYYY-MM-DD HH:MM`. */
export function formatMinute(date: Date): string {
  return date.toISOString().slice(0, 16).replace("T", " ");
}

export { Plot };
