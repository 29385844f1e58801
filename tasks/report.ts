/**
 * `deno task report [--timeout SECONDS] [--out-dir DIR]`: executes notebooks/01_market.ipynb and
 * notebooks/02_pipeline_health.ipynb headless with the Deno kernel (nbclient), writes them as one standalone HTML page
 * `reports/report-<UTC timestamp>.html`, copies it to `reports/latest.html` (with `latest.json`, what the dashboard
 * reads), keeps the REPORT_KEEP newest timestamped pages (0: all), and prints the path.
 *
 * The notebooks read NOTEBOOK_PAIR, NOTEBOOK_MARKET, NOTEBOOK_WINDOW_MINUTES, DUCKDB_PATH, LAKE_DIR and the HEALTH_* thresholds; an
 * empty or missing database gives a report that says "No data yet", not a failure.
 *
 * Permissions: run python3 (to create the venv) and the venv's python (nbclient, nbconvert); read and write .cache
 * (the pinned venv, the project's Deno kernelspec in .cache/jupyter) and reports/; read docker/ (the requirements);
 * read only the notebook settings from the environment. No network. The kernels are processes Jupyter starts with
 * `deno jupyter`, which has no permission flags (all permissions): the notebooks therefore open the marts read-only
 * and only list the lake.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { runTask, wholeNumberFlag } from "./lib/cli.ts";
import { loadReportKeep } from "./lib/config.ts";
import { loadNotebookParams } from "./lib/notebooks/params.ts";
import { buildReport } from "./lib/notebooks/report.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { ensurePythonEnv } from "./lib/python_env.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { timeout: { type: "string", default: "120" }, "out-dir": { type: "string", default: "reports" } },
  });
  const timeoutSeconds = wholeNumberFlag("timeout", values.timeout, 1, 3600);
  const params = loadNotebookParams(Deno.env); // fail fast on a bad setting, before any kernel starts
  const keep = loadReportKeep(Deno.env);
  const started = performance.now();
  console.log(`report: ${params.pair ?? "busiest pair"}, ${params.windowMinutes} minutes, marts ${params.duckdbPath}`);

  const python = await ensurePythonEnv((line) => console.log(`report: ${line}`));
  const result = await buildReport({
    python,
    outDir: resolve(PROJECT_ROOT, values["out-dir"]),
    timeoutSeconds,
    keep,
    log: (line) => console.log(`report: ${line}`),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`report: done in ${seconds} s; latest.html beside it is the same page`);
  console.log(result.htmlPath);
}

if (import.meta.main) runTask("report", main);
