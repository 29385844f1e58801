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
}
interface SvgDocument {
  createElementNS(namespace: string, name: string): SvgNode;
}
const LEGEND_HEIGHT = 22;

/** Renders `options` with Plot into an SVG string, with `legend` drawn in a row above the plot. */
export function renderSvg(options: Plot.PlotOptions, legend: readonly LegendItem[] = []): string {
  const { document } = parseHTML("<!DOCTYPE html><html><body></body></html>") as unknown as { document: SvgDocument };
  const marginTop = (options.marginTop ?? 20) + (legend.length > 0 ? LEGEND_HEIGHT : 0);
  const plotDocument = document as unknown as Plot.PlotOptions["document"];
  const node = Plot.plot({ width: CHART_WIDTH, ...options, marginTop, document: plotDocument }) as unknown as SvgNode;
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

/** A UTC time axis: `HH:MM`, and the date at midnight. */
export function utcAxis(label: string | null = null): Plot.ScaleOptions {
  return {
    type: "utc",
    label,
    tickFormat: (d: Date) =>
      d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? d.toISOString().slice(5, 10) : d.toISOString().slice(11, 16),
  };
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
