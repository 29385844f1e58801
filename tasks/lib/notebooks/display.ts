/**
 * Rich output for the Deno Jupyter kernel: a cell whose value has a `Symbol.for("Jupyter.display")` method shows the
 * MIME bundle that method returns. Charts go out as BOTH `text/html` and `image/svg+xml`: Jupyter shows the SVG,
 * and HTML exports pick `text/html`, which older nbconvert versions do not strip the way they strip SVG.
 */
import { formatMinute } from "./_plot.ts";
import { isNoData, type NoData } from "./no_data.ts";
import type { RefreshInfo, Window } from "./queries.ts";

/** The symbol the Deno kernel looks for on a cell's value. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/** A MIME type → content map, as Jupyter's display_data carries it. */
export type MimeBundle = Record<string, string>;

/** A value the Deno kernel displays as a rich output. */
export interface Displayable {
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** A chart: the SVG as `image/svg+xml` and as `text/html`, with `description` as the plain-text fallback. */
export function svgOutput(svg: string, description: string): Displayable {
  return bundle({ "image/svg+xml": svg, "text/html": svg, "text/plain": description });
}

/** An HTML fragment (a table), with `description` as the plain-text fallback. */
export function htmlOutput(html: string, description: string): Displayable {
  return bundle({ "text/html": html, "text/plain": description });
}

/** Markdown text. */
export function markdownOutput(markdown: string): Displayable {
  return bundle({ "text/markdown": markdown, "text/plain": markdown });
}

/**
 * What a chart cell shows: `render(data)` when there is data, nothing when there is not (the loading cell above
 * already said why, once).
 */
export function show<T>(data: T | NoData, render: (data: T) => Displayable): Displayable | undefined {
  return isNoData(data) ? undefined : render(data);
}

/** The loading cell's output: the pair, window and refresh the notebook shows, or the no-data message. */
export function describeData(
  data: { pair: string; window: Window; refresh: RefreshInfo | undefined } | NoData,
): Displayable {
  if (isNoData(data)) return markdownOutput(data.message);
  const refresh = data.refresh === undefined ? "" : ` Marts refreshed as of ${formatMinute(data.refresh.nowAt)} UTC` +
    (data.refresh.testsFailed > 0 ? ` — **${data.refresh.testsFailed} data tests failed**.` : ".");
  return markdownOutput(
    `**${data.pair}**, ${formatMinute(data.window.start)} to ${formatMinute(data.window.end)} UTC ` +
      `(${(data.window.end.getTime() - data.window.start.getTime()) / 60_000} minutes).${refresh}`,
  );
}

/**
 * A later section's loading cell: nothing when the notebook's first loading cell already said there is no data
 * (`notebookData`), else what {@link describeData} shows for the section's own `data`.
 */
export function describeSection(
  data: { pair: string; window: Window; refresh: RefreshInfo | undefined } | NoData,
  notebookData: unknown,
): Displayable | undefined {
  return isNoData(notebookData) ? undefined : describeData(data);
}

function bundle(mimeBundle: MimeBundle): Displayable {
  return { [JUPYTER_DISPLAY]: () => mimeBundle };
}
