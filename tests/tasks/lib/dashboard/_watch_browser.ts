/**
 * Watches the dashboard in Debian's headless Chromium as a person would leave it open: prints `ready` once the page
 * shows `first`, then waits for it to reload by itself and show `second` (a newer report), then for its bar to turn
 * stale, and prints what it saw as JSON. Runs as its own process with all permissions (see _browser.ts).
 *
 * Usage: deno run --allow-all _watch_browser.ts URL FIRST SECOND SCREENSHOT
 */
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../../../tasks/lib/notebooks/chromium.ts";

/** What the page showed. */
export interface Watched {
  reloaded: boolean;
  staleAfterReload: boolean;
  freshBar: string;
  staleBar: string;
  console: string[];
}

const [url, first, second, screenshot] = Deno.args as [string, string, string, string];
const { chromium } = await import("playwright-core");
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const messages: string[] = [];
  page.on("console", (message) => messages.push(`${message.type()}: ${message.text()}`));
  await page.goto(url);
  await page.getByText(first).waitFor({ timeout: 10_000 });
  console.log("ready");
  const reloaded = await page.getByText(second).waitFor({ timeout: 30_000 }).then(() => true, () => false);
  const bar = page.locator("#dashboard-bar");
  const freshBar = `${await bar.getAttribute("data-stale")}: ${await bar.innerText()}`;
  const staleAfterReload = await page.locator('#dashboard-bar[data-stale="true"]').waitFor({ timeout: 30_000 })
    .then(() => true, () => false);
  await page.screenshot({ path: screenshot, fullPage: true });
  const staleBar = `${await bar.getAttribute("data-stale")}: ${await bar.innerText()}`;
  const watched: Watched = { reloaded, staleAfterReload, freshBar, staleBar, console: messages };
  console.log(JSON.stringify(watched));
} finally {
  await browser.close();
}
