/** What the kernel shows: charts as SVG and HTML both, tables as HTML, nothing for charts without data. */
import assert from "node:assert/strict";
import { noData } from "../../../../tasks/lib/notebooks/no_data.ts";
import {
  describeData,
  htmlOutput,
  JUPYTER_DISPLAY,
  markdownOutput,
  show,
  svgOutput,
} from "../../../../tasks/lib/notebooks/display.ts";

const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>';

Deno.test("svgOutput() bundles the chart as image/svg+xml and text/html, for HTML exports", () => {
  assert.deepEqual(svgOutput(SVG, "a chart")[JUPYTER_DISPLAY](), {
    "image/svg+xml": SVG,
    "text/html": SVG,
    "text/plain": "a chart",
  });
  assert.equal(JUPYTER_DISPLAY, Symbol.for("Jupyter.display"));
});

Deno.test("htmlOutput() and markdownOutput() carry a plain-text fallback", () => {
  assert.deepEqual(Object.keys(htmlOutput("<table></table>", "t")[JUPYTER_DISPLAY]()), ["text/html", "text/plain"]);
  assert.deepEqual(markdownOutput("**x**")[JUPYTER_DISPLAY](), { "text/markdown": "**x**", "text/plain": "**x**" });
});

Deno.test("show() renders data and shows nothing for NoData", () => {
  assert.equal(show(noData("empty"), () => svgOutput(SVG, "never")), undefined);
  assert.equal(show({ n: 1 }, (d) => markdownOutput(`n = ${d.n}`))?.[JUPYTER_DISPLAY]()["text/markdown"], "n = 1");
});

Deno.test("describeData() says what is shown, or that there is no data yet and to run the demo", () => {
  const empty = describeData(noData("There is no marts database."))[JUPYTER_DISPLAY]();
  assert.match(empty["text/markdown"]!, /^\*\*No data yet — run `deno task demo`\.\*\* There is no marts database\./);
  const shown = describeData({
    pair: "BTCUSDT",
    window: { start: new Date("2025-03-02T00:00:00Z"), end: new Date("2025-03-02T01:00:00Z") },
    refresh: { nowAt: new Date("2025-03-02T01:02:00Z"), finishedAt: new Date(), testsFailed: 2 },
  })[JUPYTER_DISPLAY]();
  assert.equal(
    shown["text/markdown"],
    "**BTCUSDT**, 2025-03-02 00:00 to 2025-03-02 01:00 UTC (60 minutes). Marts refreshed as of 2025-03-02 01:02 UTC" +
      " — **2 data tests failed**.",
  );
});
