/**
 * Reading the charts back: which Plot marks an SVG holds and how many of their elements actually draw something
 * (a rect with area, a line with length, a path with segments, a circle with a radius, a text with words).
 */
import { parseHTML } from "linkedom";

interface Node {
  tagName: string;
  textContent: string | null;
  children: ArrayLike<Node>;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<Node>;
}

/** A chart as drawn: its aria-label and, per data mark (rect, bar, line, rule, dot, area, text), the drawn elements. */
export interface DrawnChart {
  label: string | null;
  marks: Record<string, number>;
}

/** The charts in `html` (an SVG string or an HTML page holding several), in document order. */
export function drawnCharts(html: string): DrawnChart[] {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${html}</body></html>`) as unknown as {
    document: Node;
  };
  return Array.from(document.querySelectorAll("svg")).map((svg) => {
    const marks: Record<string, number> = {};
    for (const group of Array.from(svg.querySelectorAll("g[aria-label]"))) {
      const mark = group.getAttribute("aria-label")!;
      if (/axis|grid|frame/.test(mark)) continue;
      marks[mark] = (marks[mark] ?? 0) + Array.from(group.children).filter(draws).length;
    }
    return { label: svg.getAttribute("aria-label"), marks };
  });
}

/** The one chart labelled `label` in `html`. */
export function drawnChart(html: string, label: string): DrawnChart {
  const found = drawnCharts(html).filter((chart) => chart.label === label);
  if (found.length !== 1) throw new Error(`Expected one chart labelled "${label}", found ${found.length}`);
  return found[0]!;
}

function draws(element: Node): boolean {
  const number = (name: string) => Number(element.getAttribute(name) ?? 0);
  switch (element.tagName.toLowerCase()) {
    case "rect":
      return number("width") > 0 && number("height") > 0;
    case "line":
      return number("x1") !== number("x2") || number("y1") !== number("y2");
    case "path":
      return /[LCAQ]/.test(element.getAttribute("d") ?? "");
    case "circle":
      return number("r") > 0;
    case "text":
      return (element.textContent ?? "").trim() !== "";
    default:
      return false;
  }
}
