/**
 * Jupyter, the project's own way: the Deno kernelspec registered under `.cache/jupyter` (never in the user's
 * Jupyter folders), and the pinned nbclient/nbconvert of `.cache/python-venv` running with that folder as the only
 * Jupyter data, config and runtime path.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { TaskError } from "../cli.ts";
import { CACHE_DIR } from "../paths.ts";

/** The project's Jupyter folder: kernelspecs, config and runtime (connection) files. */
export const JUPYTER_DIR = join(CACHE_DIR, "jupyter");

const EXECUTE_SCRIPT = join(import.meta.dirname!, "execute_notebooks.py");
const REPORT_TEMPLATE = join(import.meta.dirname!, "report.html.j2");

/** The kernelspec of `deno jupyter` run by `denoPath`, as `kernel.json` holds it. */
export function denoKernelspec(denoPath: string): Record<string, unknown> {
  return {
    argv: [denoPath, "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno",
    language: "typescript",
  };
}

/**
 * Writes `<jupyterDir>/kernels/deno/kernel.json` for the running Deno (`Deno.execPath()`, which is where
 * `npx deno@…` unpacked it), unless it already says exactly that. Returns the file's path.
 */
export async function ensureDenoKernelspec(
  jupyterDir: string = JUPYTER_DIR,
  denoPath: string = Deno.execPath(),
): Promise<string> {
  const dir = join(jupyterDir, "kernels", "deno");
  const path = join(dir, "kernel.json");
  const wanted = `${JSON.stringify(denoKernelspec(denoPath), null, 2)}\n`;
  if (existsSync(path) && readFileSync(path, "utf8") === wanted) return path;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${path}.tmp`, wanted);
  await Deno.rename(`${path}.tmp`, path);
  return path;
}

/** The environment that makes Jupyter use only `jupyterDir` (so it finds our kernelspec, and no user config). */
export function jupyterEnv(jupyterDir: string = JUPYTER_DIR): Record<string, string> {
  return {
    JUPYTER_PATH: jupyterDir,
    JUPYTER_DATA_DIR: jupyterDir,
    JUPYTER_CONFIG_DIR: join(jupyterDir, "config"),
    JUPYTER_RUNTIME_DIR: join(jupyterDir, "runtime"),
  };
}

/** How to run the venv's Python with the project's Jupyter folder. */
export interface JupyterRun {
  /** The venv's interpreter, from ensurePythonEnv(). */
  python: string;
  /** @default JUPYTER_DIR */
  jupyterDir?: string;
  /** Added to the environment the kernels inherit, e.g. DUCKDB_PATH. */
  env?: Record<string, string>;
  /** Receives every line the tools print. */
  log?: (line: string) => void;
}

/**
 * Executes `notebooks` concurrently with the Deno kernel and writes them, outputs included, into `outDir`.
 *
 * @throws {TaskError} naming the notebook and cell when a cell raises, or the kernel cannot start
 */
export async function executeNotebooks(
  run: JupyterRun,
  notebooks: readonly string[],
  options: { outDir: string; timeoutSeconds: number },
): Promise<void> {
  await runPython(run, [
    EXECUTE_SCRIPT,
    "--out-dir",
    options.outDir,
    "--timeout",
    String(options.timeoutSeconds),
    ...notebooks,
  ], "execute the notebooks");
}

/** Converts an executed notebook into one standalone HTML page (outputs only, no code, no CDN scripts). */
export async function exportHtml(run: JupyterRun, notebook: string, htmlPath: string): Promise<void> {
  await runPython(run, [
    "-m",
    "nbconvert",
    "--to",
    "html",
    "--no-input",
    "--template",
    "lab",
    "--template-file",
    REPORT_TEMPLATE,
    "--output-dir",
    dirname(htmlPath),
    "--output",
    basename(htmlPath, ".html"),
    notebook,
  ], "export the report to HTML");
}

async function runPython(run: JupyterRun, args: string[], purpose: string): Promise<void> {
  const log = run.log ?? (() => {});
  const child = new Deno.Command(run.python, {
    args,
    env: { ...run.env, ...jupyterEnv(run.jupyterDir) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const errors: string[] = [];
  await Promise.all([
    forEachLine(child.stdout, log),
    forEachLine(child.stderr, (line) => {
      // Deno's kernel warns on every start that `deno jupyter` is unstable; nbconvert logs each file it writes.
      if (/deno jupyter" is unstable|^\[NbConvertApp\]/.test(line)) return;
      errors.push(line);
      log(line);
    }),
  ]);
  const status = await child.status;
  if (!status.success) {
    const detail = errors.slice(-5).join("; ") || `exit code ${status.code}`;
    throw new TaskError(`Cannot ${purpose}: ${detail}`);
  }
}

async function forEachLine(stream: ReadableStream<Uint8Array>, each: (line: string) => void): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const line of lines) each(stripAnsi(line));
  }
  if (rest !== "") each(stripAnsi(rest));
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").trimEnd();
}
