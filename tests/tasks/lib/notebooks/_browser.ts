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
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`file://${request.html}`);
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
    return { charts, texts };
  } finally {
    await browser.close();
  }
}

if (import.meta.main) {
  console.log(JSON.stringify(await measure(JSON.parse(Deno.args[0]!))));
}
