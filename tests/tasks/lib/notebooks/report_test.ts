/** The report's pure parts: its file name, merging the executed notebooks, and the project's Deno kernelspec. */
import assert from "node:assert/strict";
import { denoKernelspec, ensureDenoKernelspec, jupyterEnv } from "../../../../tasks/lib/notebooks/jupyter.ts";
import {
  martsRefreshedAt,
  mergeNotebooks,
  type Notebook,
  pagesToRemove,
  reportFileName,
} from "../../../../tasks/lib/notebooks/report.ts";
import { makeTestDir } from "../../../helpers/tasks.ts";

Deno.test("reportFileName() is report-<UTC timestamp>.html, sortable and safe in paths", () => {
  assert.equal(reportFileName(new Date("2025-03-02T00:07:30.123Z")), "report-20250302T000730Z.html");
});

function notebook(cells: Notebook["cells"]): Notebook {
  return { cells, metadata: { kernelspec: { name: "deno" } }, nbformat: 4, nbformat_minor: 5 };
}

Deno.test("mergeNotebooks() keeps markdown and code with outputs, under a heading, with unique ids", () => {
  const output = [{ output_type: "execute_result", data: { "text/plain": "x" } }];
  const merged = mergeNotebooks([
    {
      name: "01_market.ipynb",
      notebook: notebook([
        { cell_type: "code", id: "parameters", source: "const params = 1;", outputs: [], metadata: {} },
        { cell_type: "markdown", id: "title", source: "# Market", metadata: {} },
        { cell_type: "code", id: "load", source: "x", outputs: output, metadata: {} },
      ]),
    },
    {
      name: "02_pipeline_health.ipynb",
      notebook: notebook([
        { cell_type: "markdown", id: "title", source: "# Health", metadata: {} },
        { cell_type: "code", id: "load", source: "y", outputs: output, metadata: {} },
      ]),
    },
  ], "# Report\n\nabout");
  assert.deepEqual(merged.cells.map((cell) => cell.id), [
    "report-heading",
    "01_market-title",
    "01_market-load",
    "02_pipeline_health-title",
    "02_pipeline_health-load",
  ]);
  assert.equal(merged.cells[0]!.source, "# Report\n\nabout");
  assert.deepEqual(merged.metadata, { kernelspec: { name: "deno" }, title: "Report" });
  assert.equal(merged.nbformat, 4);
});

Deno.test("denoKernelspec() runs `deno jupyter --kernel` with the given Deno", () => {
  assert.deepEqual(denoKernelspec("/opt/deno"), {
    argv: ["/opt/deno", "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno",
    language: "typescript",
  });
});

Deno.test("ensureDenoKernelspec() writes kernel.json once and again when Deno moves", async () => {
  const dir = await makeTestDir("kernelspec");
  try {
    const path = await ensureDenoKernelspec(dir, "/opt/deno-a");
    assert.equal(path, `${dir}/kernels/deno/kernel.json`);
    const first = await Deno.stat(path);
    await ensureDenoKernelspec(dir, "/opt/deno-a");
    assert.equal((await Deno.stat(path)).mtime?.getTime(), first.mtime?.getTime(), "unchanged: not rewritten");
    await ensureDenoKernelspec(dir, "/opt/deno-b");
    assert.equal(JSON.parse(await Deno.readTextFile(path)).argv[0], "/opt/deno-b");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jupyterEnv() confines Jupyter's data, config and runtime files to one folder", () => {
  assert.deepEqual(jupyterEnv("/p/.cache/jupyter"), {
    JUPYTER_PATH: "/p/.cache/jupyter",
    JUPYTER_DATA_DIR: "/p/.cache/jupyter",
    JUPYTER_CONFIG_DIR: "/p/.cache/jupyter/config",
    JUPYTER_RUNTIME_DIR: "/p/.cache/jupyter/runtime",
  });
});

Deno.test("martsRefreshedAt() reads the refresh the loading cell states; null without one", () => {
  const markdown = "**BTCUSDT**, 2025-03-01 23:12 to 2025-03-02 00:12 UTC (60 minutes). Marts refreshed as of " +
    "2025-03-02 00:12 UTC.";
  const output = [{ output_type: "execute_result", data: { "text/markdown": [markdown] } }];
  assert.equal(
    martsRefreshedAt(notebook([{ cell_type: "code", source: "", outputs: output, metadata: {} }])),
    Date.parse("2025-03-02T00:12:00Z"),
  );
  assert.equal(martsRefreshedAt(notebook([])), null);
});

Deno.test("pagesToRemove() keeps the newest timestamped pages, never latest.html; 0 keeps all", () => {
  const names = [
    "latest.html",
    "latest.json",
    "report-20250302T000100Z.html",
    "report-20250302T000300Z.html",
    "report-20250302T000200Z.html",
  ];
  assert.deepEqual(pagesToRemove(names, 2), ["report-20250302T000100Z.html"]);
  assert.deepEqual(pagesToRemove(names, 0), []);
});
