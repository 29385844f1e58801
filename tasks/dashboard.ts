/**
 * `deno task dashboard [--reports-dir DIR]`: serves the latest report (reports/latest.html, which `deno task start`
 * rebuilds after each refresh) on http://127.0.0.1:DASHBOARD_PORT (default 8765). The page reloads itself when a
 * newer report exists and says in its header when the marts were last refreshed, turning red once that is more than
 * DASHBOARD_STALE_AFTER_S (default 900) ago. No framework: the static report plus this small server.
 *
 * Permissions: listen on 127.0.0.1 only; read reports/ only; read the two DASHBOARD_* settings.
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { runTask, shutdownSignal } from "./lib/cli.ts";
import { loadDashboardConfig } from "./lib/config.ts";
import { dashboardPage } from "./lib/dashboard/page.ts";
import type { LatestReportInfo } from "./lib/notebooks/report.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({ args: Deno.args, options: { "reports-dir": { type: "string", default: "reports" } } });
  const config = loadDashboardConfig(Deno.env);
  const dir = resolve(PROJECT_ROOT, values["reports-dir"]);
  const signal = shutdownSignal();

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: config.port,
    signal,
    onListen: ({ port }) => console.log(`dashboard: http://127.0.0.1:${port}/ serves ${dir}/latest.html`),
  }, async (request) => {
    const path = new URL(request.url).pathname;
    const headers = { "cache-control": "no-store" };
    if (path === "/latest.json") {
      const info = await readInfo(dir);
      return info === null
        ? new Response("no report yet\n", { status: 404, headers })
        : Response.json(info, { headers });
    }
    if (path === "/favicon.ico") return new Response(null, { status: 204, headers }); // browsers ask; none is fine
    if (path !== "/" && path !== "/index.html") return new Response("not found\n", { status: 404, headers });
    const page = dashboardPage(
      await readOrNull(join(dir, "latest.html")),
      await readInfo(dir),
      Date.now(),
      config.staleAfterSeconds,
    );
    return new Response(page, { headers: { ...headers, "content-type": "text/html; charset=utf-8" } });
  });
  await server.finished;
  console.log("dashboard: stopped");
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function readInfo(dir: string): Promise<LatestReportInfo | null> {
  const text = await readOrNull(join(dir, "latest.json"));
  if (text === null) return null;
  try {
    return JSON.parse(text) as LatestReportInfo;
  } catch {
    return null; // being replaced: the next poll reads the new one
  }
}

if (import.meta.main) runTask("dashboard", main);
