/**
 * Looks at a page in Debian's headless Chromium, driven by playwright-core: takes a full-page screenshot and measures
 * the given charts and texts. Runs as its own process (`measurePage` starts it) because playwright-core needs
 * permissions the test suite does not grant (see {@link BROWSER_PERMISSIONS}).
 *
 * Usage: deno run <PERMISSIONS> _browser.ts '<MeasureRequest as JSON>' → prints a MeasureResult as JSON.
 */
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../../../tasks/lib/notebooks/chromium.ts";

/** What to look at. Paths are absolute. */
export interface MeasureRequest {
  html: string;
  screenshot: string;
  /** Charts by aria-label, each with the Plot mark whose first element must draw. */
  charts: { label: string; mark: string }[];
  texts: string[];
  /** Also inspect every chart on the page (see {@link Inspection}). */
  inspect?: boolean;
  /** Viewport width in CSS pixels. Default: 1100. */
  width?: number;
}

/** Every chart of the page, as a reader would check it. */
export interface Inspection {
  /** Console messages of any level the page printed (type: text). */
  console: string[];
  /** Whether any element's text holds the word "Warning". */
  warningText: boolean;
  charts: {
    label: string;
    /** Drawn elements of the chart's data marks (not axes, grids, the frame or the legend). */
    dataMarks: number;
    /** The x axis's tick labels, left to right. */
    xTicks: string[];
    /** Data-mark elements lying outside the plot area (the frame), more than 4 px. */
    outside: string[];
  }[];
}

/** A box on the page, in CSS pixels. */
export interface Box {
  width: number;
  height: number;
}

/** What Chromium showed. */
export interface MeasureResult {
  charts: { label: string; count: number; visible: boolean; box: Box | null; markBox: Box | null }[];
  texts: { text: string; count: number; visible: boolean }[];
  inspection?: Inspection;
}

/**
 * The browser process runs with all permissions: playwright-core checks `/proc/sys/fs/binfmt_misc/WSLInterop` when
 * it loads, and Deno grants reads under /proc only with --allow-all. Only this test helper runs so.
 */
export const BROWSER_PERMISSIONS = ["--allow-all"];

/** Starts this script in its own process with {@link BROWSER_PERMISSIONS} and returns its measurements. */
export async function measurePage(request: MeasureRequest, cwd: string): Promise<MeasureResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...BROWSER_PERMISSIONS, import.meta.filename!, JSON.stringify(request)],
    cwd,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(`Cannot measure ${request.html} in Chromium: ${decoder.decode(output.stderr).trim()}`);
  }
  return JSON.parse(decoder.decode(output.stdout));
}

async function measure(request: MeasureRequest): Promise<MeasureResult> {
  // Imported here, not at the top: loading playwright-core already needs the permissions only this process has.
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  try {
    const page = await browser.newPage({ viewport: { width: request.width ?? 1100, height: 900 } });
    const messages: string[] = [];
    page.on("console", (message) => messages.push(`${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => messages.push(`pageerror: ${error.message}`));
    await page.goto(request.html.startsWith("http") ? request.html : `file://${request.html}`);
    await page.screenshot({ path: request.screenshot, fullPage: true });
    const charts = [];
    for (const { label, mark } of request.charts) {
      const chart = page.locator(`svg[aria-label="${label}"]`);
      const count = await chart.count();
      const first = chart.first();
      const firstMark = first.locator(`g[aria-label="${mark}"] > :is(rect, line, path, circle, text)`).first();
      charts.push({
        label,
        count,
        visible: count > 0 && await first.isVisible(),
        box: count > 0 ? await first.boundingBox() : null,
        markBox: await firstMark.count() > 0 ? await firstMark.boundingBox() : null,
      });
    }
    const texts = [];
    for (const text of request.texts) {
      const found = page.getByText(text);
      const count = await found.count();
      texts.push({ text, count, visible: count > 0 && await found.first().isVisible() });
    }
    if (!request.inspect) return { charts, texts };
    const inspected = await page.evaluate(INSPECT_CHARTS) as Omit<Inspection, "console">;
    return { charts, texts, inspection: { console: messages, ...inspected } };
  } finally {
    await browser.close();
  }
}

// Runs in the page. Plot names each mark's group by its kind (aria-label "line", "rule", "x-axis tick label", …); the
// invisible frame renderSvg adds to every chart is the plot area.
const INSPECT_CHARTS = `(() => {
  const NOT_DATA = /axis|grid|frame/;
  const charts = [...document.querySelectorAll("svg[aria-label]")].map((svg) => {
    const frame = svg.querySelector(':scope > rect[aria-label="frame"], :scope > g[aria-label="frame"] > rect');
    const area = frame ? frame.getBoundingClientRect() : svg.getBoundingClientRect();
    const groups = [...svg.querySelectorAll(":scope > g[aria-label]")]
      .filter((g) => !NOT_DATA.test(g.getAttribute("aria-label")));
    const outside = [];
    let dataMarks = 0;
    for (const group of groups) {
      const kind = group.getAttribute("aria-label");
      const elements = [...group.querySelectorAll("rect, line, path, circle, text")];
      dataMarks += elements.length;
      for (const element of elements) {
        const box = element.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        const text = element.tagName === "text";
        const out = box.left < area.left - 4 || box.right > area.right + 4 ||
          (!text && (box.top < area.top - 4 || box.bottom > area.bottom + 4));
        if (out) outside.push(kind + " " + element.tagName + " at " + Math.round(box.left) + "," + Math.round(box.top));
      }
    }
    const xTicks = [...svg.querySelectorAll('g[aria-label="x-axis tick label"] text')]
      .map((t) => ({ x: t.getBoundingClientRect().left, text: t.textContent }))
      .sort((a, b) => a.x - b.x).map((t) => t.text);
    return { label: svg.getAttribute("aria-label"), dataMarks, xTicks, outside };
  });
  const warningText = [...document.querySelectorAll("body *")]
    .some((element) => element.children.length === 0 && /Warning/.test(element.textContent || ""));
  return { charts, warningText };
})()`;

if (import.meta.main) {
  console.log(JSON.stringify(await measure(JSON.parse(Deno.args[0]!))));
}
