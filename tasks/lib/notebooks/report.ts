/**
 * The HTML report: both notebooks executed headless with the Deno kernel, merged into one notebook (outputs and
 * markdown only) and exported as one standalone page, `report-<UTC timestamp>.html`, copied to `latest.html`.
 */
import { basename, join } from "node:path";
import { PROJECT_ROOT } from "../paths.ts";
import { ensureDenoKernelspec, executeNotebooks, exportHtml, type JupyterRun } from "./jupyter.ts";

/** The notebooks the report runs, in order. */
export const REPORT_NOTEBOOKS: readonly string[] = [
  join(PROJECT_ROOT, "notebooks", "01_market.ipynb"),
  join(PROJECT_ROOT, "notebooks", "02_pipeline_health.ipynb"),
];

/** The parts of an nbformat 4 notebook the report touches. */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** One cell of a notebook. */
export interface NotebookCell {
  cell_type: string;
  id?: string;
  source: string | string[];
  outputs?: unknown[];
  metadata: Record<string, unknown>;
  [key: string]: unknown;
}

/** How to build a report. */
export interface ReportOptions extends JupyterRun {
  /** Where the HTML pages go; the executed notebooks go to its `executed/` folder. */
  outDir: string;
  /** Seconds one cell may run. */
  timeoutSeconds: number;
  /** The report's time, in its file name and heading. Default: now. */
  now?: Date;
  /** Timestamped pages to keep beside latest.html, newest first; older ones are removed. Default: 0, all. */
  keep?: number;
}

/** `latest.json`: what the page `latest.html` is, for the dashboard. */
export interface LatestReportInfo {
  /** The timestamped page latest.html is a copy of. */
  page: string;
  /** When it was built, ms since the epoch. */
  builtAtMs: number;
  /** The marts' refresh it shows (the refresh's now), ms since the epoch; null when the notebooks had no data. */
  martsRefreshedAtMs: number | null;
}

/**
 * The refresh time the market notebook's loading cell states ("Marts refreshed as of YYYY-MM-DD HH:MM UTC"), in ms;
 * null when it states none (no data yet).
 */
export function martsRefreshedAt(notebook: Notebook): number | null {
  for (const cell of notebook.cells) {
    for (const output of (cell.outputs ?? []) as { data?: Record<string, string | string[]> }[]) {
      const markdown = output.data?.["text/markdown"];
      const text = Array.isArray(markdown) ? markdown.join("") : markdown ?? "";
      const match = /Marts refreshed as of (\d{4}-\d\d-\d\d \d\d:\d\d) UTC/.exec(text);
      if (match) return Date.parse(`${match[1]!.replace(" ", "T")}:00Z`);
    }
  }
  return null;
}

/** The timestamped pages beyond the `keep` newest among `names` (0 keeps all). */
export function pagesToRemove(names: readonly string[], keep: number): string[] {
  if (keep <= 0) return [];
  return names.filter((name) => /^report-\d{8}T\d{6}Z\.html$/.test(name)).sort().reverse().slice(keep);
}

/** What a report wrote. */
export interface ReportResult {
  htmlPath: string;
  latestPath: string;
  /** `latest.json` beside it: when the page was built and what it shows (read by `deno task dashboard`). */
  latestInfoPath: string;
  /** The executed notebooks, outputs included. */
  executed: string[];
}

/** `report-YYYYMMDDTHHMMSSZ.html` for `at` (UTC). */
export function reportFileName(at: Date): string {
  return `report-${at.toISOString().replace(/\.\d{3}Z$/, "Z").replaceAll("-", "").replaceAll(":", "")}.html`;
}

/**
 * One notebook of `parts` in order, under a `heading` markdown cell: markdown cells and the code cells that have
 * outputs (the report hides code, so a cell without output would only leave a gap). Cell ids are prefixed with
 * the notebook's name so they stay unique.
 */
export function mergeNotebooks(parts: readonly { name: string; notebook: Notebook }[], heading: string): Notebook {
  const cells: NotebookCell[] = [{ cell_type: "markdown", id: "report-heading", metadata: {}, source: heading }];
  for (const { name, notebook } of parts) {
    const prefix = name.replace(/\.ipynb$/, "").replace(/[^A-Za-z0-9_-]/g, "-");
    for (const [index, cell] of notebook.cells.entries()) {
      if (cell.cell_type === "code" && (cell.outputs ?? []).length === 0) continue;
      cells.push({ ...cell, id: `${prefix}-${cell.id ?? index}`.slice(0, 64) });
    }
  }
  return {
    cells,
    metadata: { ...(parts[0]?.notebook.metadata ?? {}), title: heading.split("\n")[0]!.replace(/^#\s*/, "") },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Executes the notebooks, writes the report page and `latest.html`, and returns their paths. */
export async function buildReport(options: ReportOptions): Promise<ReportResult> {
  const log = options.log ?? (() => {});
  const now = options.now ?? new Date();
  const executedDir = join(options.outDir, "executed");
  await ensureDenoKernelspec(options.jupyterDir, Deno.execPath());

  log(`Executing ${REPORT_NOTEBOOKS.map((path) => basename(path)).join(" and ")} with the Deno kernel …`);
  await executeNotebooks(options, REPORT_NOTEBOOKS, { outDir: executedDir, timeoutSeconds: options.timeoutSeconds });
  const executed = REPORT_NOTEBOOKS.map((path) => join(executedDir, basename(path)));

  const stamp = now.toISOString().slice(0, 19).replace("T", " ");
  const merged = mergeNotebooks(
    await Promise.all(executed.map(async (path) => ({
      name: basename(path),
      notebook: JSON.parse(await Deno.readTextFile(path)) as Notebook,
    }))),
    `# Crypto pipeline report, ${stamp} UTC\n\nThe market and the pipeline's health, from the notebooks in ` +
      "`notebooks/`, executed by `deno task report`.",
  );
  const mergedPath = join(executedDir, "report.ipynb");
  await Deno.writeTextFile(mergedPath, `${JSON.stringify(merged, null, 1)}\n`);

  log("Writing the HTML page …");
  const htmlPath = join(options.outDir, reportFileName(now));
  await exportHtml(options, mergedPath, htmlPath);
  const latestPath = join(options.outDir, "latest.html");
  await Deno.copyFile(htmlPath, `${latestPath}.tmp`);
  await Deno.rename(`${latestPath}.tmp`, latestPath); // readers never see half a page
  const info: LatestReportInfo = {
    page: basename(htmlPath),
    builtAtMs: now.getTime(),
    martsRefreshedAtMs: martsRefreshedAt(merged),
  };
  const latestInfoPath = join(options.outDir, "latest.json");
  await Deno.writeTextFile(`${latestInfoPath}.tmp`, `${JSON.stringify(info)}\n`);
  await Deno.rename(`${latestInfoPath}.tmp`, latestInfoPath);
  const names = [];
  for await (const entry of Deno.readDir(options.outDir)) if (entry.isFile) names.push(entry.name);
  for (const name of pagesToRemove(names, options.keep ?? 0)) await Deno.remove(join(options.outDir, name));
  return { htmlPath, latestPath, latestInfoPath, executed };
}
