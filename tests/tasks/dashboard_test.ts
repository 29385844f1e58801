/**
 * `deno task dashboard` with its own permissions, watched in a real Chromium: it serves the latest report with a bar
 * saying when the marts were refreshed, reloads by itself when a newer report is written, and turns stale when the
 * refreshes stop. A screenshot is kept in data/test-artifacts/dashboard/.
 */
import assert from "node:assert/strict";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { taskArgs } from "../../tasks/lib/processes.ts";
import type { LatestReportInfo } from "../../tasks/lib/notebooks/report.ts";
import type { Watched } from "./lib/dashboard/_watch_browser.ts";
import { freePort } from "../helpers/metrics.ts";

const DIR = "data/test-artifacts/dashboard";

async function writeReport(text: string, info: LatestReportInfo): Promise<void> {
  await Deno.writeTextFile(`${PROJECT_ROOT}/${DIR}/latest.html`, `<html><body><h1>${text}</h1></body></html>`);
  await Deno.writeTextFile(`${PROJECT_ROOT}/${DIR}/latest.json`, JSON.stringify(info));
}

async function readLine(reader: ReadableStreamDefaultReader<string>): Promise<string> {
  let buffered = "";
  while (!buffered.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the browser ended before a line: ${buffered}`);
    buffered += value;
  }
  return buffered;
}

Deno.test("deno task dashboard serves the report, reloads when a newer one is written, and turns stale", async () => {
  await Deno.remove(`${PROJECT_ROOT}/${DIR}`, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${PROJECT_ROOT}/${DIR}`, { recursive: true });
  await writeReport("first report", { page: "report-1.html", builtAtMs: 1, martsRefreshedAtMs: Date.now() });
  const port = freePort();
  // The task's own permissions, reading the test's folder instead of reports/.
  const args = taskArgs("dashboard").map((arg) => arg.startsWith("--allow-read=") ? `${arg},${DIR}` : arg);
  const dashboard = new Deno.Command(Deno.execPath(), {
    args: [...args, "--reports-dir", DIR],
    cwd: PROJECT_ROOT,
    env: { DASHBOARD_PORT: String(port), DASHBOARD_STALE_AFTER_S: "10" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = dashboard.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    assert.match(await readLine(output), new RegExp(`^dashboard: http://127\\.0\\.0\\.1:${port}/ serves `));
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.match(
      page,
      /<div id="dashboard-bar" data-stale="false"[^>]*><b>Live dashboard<\/b> · <span[^>]*>marts refreshed at/,
    );
    assert.match(page, /first report/);
    const info = await (await fetch(`http://127.0.0.1:${port}/latest.json`)).json();
    assert.equal(info.builtAtMs, 1);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);

    const browser = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        `${PROJECT_ROOT}/tests/tasks/lib/dashboard/_watch_browser.ts`,
        `http://127.0.0.1:${port}/`,
        "first report",
        "second report",
        `${PROJECT_ROOT}/${DIR}/dashboard.png`,
      ],
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const seen = browser.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await readLine(seen)).trim(), "ready");
    // A refresh and a new report: the open page reloads by itself. Then the refreshes stop: it turns stale.
    await writeReport("second report", { page: "report-2.html", builtAtMs: 2, martsRefreshedAtMs: Date.now() });
    let rest = "";
    for (let chunk = await seen.read(); !chunk.done; chunk = await seen.read()) rest += chunk.value;
    const status = await browser.status;
    const stderr = await new Response(browser.stderr).text();
    assert.equal(status.code, 0, stderr);
    const watched: Watched = JSON.parse(rest.trim().split("\n").at(-1)!);
    assert.ok(watched.reloaded, "reloaded when the newer report was written");
    assert.match(watched.freshBar, /^false: Live dashboard · marts refreshed at .* UTC, \d+ s ago$/);
    assert.ok(watched.staleAfterReload, "stale once the marts are older than DASHBOARD_STALE_AFTER_S");
    assert.match(
      watched.staleBar,
      /^true: Live dashboard · STALE: marts refreshed at .* \(no refresh for more than 10 s/,
    );
    assert.deepEqual(watched.console, []);
  } finally {
    dashboard.kill("SIGTERM");
    await dashboard.status;
    await output.cancel().catch(() => {});
    await dashboard.stderr.cancel().catch(() => {});
  }
});
