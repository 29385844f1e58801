/**
 * `deno task report` end to end, with Jupyter and a real browser: both notebooks execute with the Deno kernel
 * against a fixture database and draw their charts with data; the page opens in headless Chromium (Debian's,
 * driven by playwright-core) with every chart visible and non-empty; an empty database gives the no-data message
 * instead of charts. Screenshots are kept in data/test-artifacts/.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { CHROMIUM_PATH } from "../../tasks/lib/notebooks/chromium.ts";
import type { Notebook } from "../../tasks/lib/notebooks/report.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { fixturePaths, writeFixtureDatabase } from "./lib/notebooks/_fixture.ts";
import { measurePage, type MeasureRequest, type MeasureResult } from "./lib/notebooks/_browser.ts";
import { drawnChart, drawnCharts } from "./lib/notebooks/_svg.ts";
import { taskArgs, type TaskResult } from "../helpers/tasks.ts";
import { loadNotebookParams } from "../../tasks/lib/notebooks/params.ts";
import { isNoData, loadMarket } from "../../tasks/lib/notebooks/queries.ts";
import { gapsText } from "../../tasks/lib/notebooks/charts.ts";

const ARTIFACTS = "data/test-artifacts";

/** Every chart of the report and the marks that must draw data in it, per notebook. */
const EXPECTED_CHARTS: Record<string, Record<string, string[]>> = {
  "01_market.ipynb": {
    "candlestick chart": ["rule", "line"],
    "volume chart": ["rect"],
    "imbalance chart": ["rect"],
    "cumulative delta chart": ["line"],
    "trade size chart": ["rect"],
  },
  "02_pipeline_health.ipynb": {
    "health status chart": ["bar"],
    "ingest latency chart": ["line", "dot", "rule"],
    "lake latency chart": ["line", "dot"],
    "freshness chart": ["line", "rule"],
    "dlq chart": ["rect"],
    "gaps chart": ["dot"],
    "lake files chart": ["rect"],
  },
};

/**
 * Runs tasks/report.ts with the permissions deno.json gives `deno task report`, plus reading and writing the test's
 * output folder under data/ instead of reports/.
 */
async function runReport(outDir: string, env: Record<string, string>): Promise<TaskResult> {
  const args = taskArgs("report").map((arg) => /^--allow-(read|write)=/.test(arg) ? `${arg},${outDir}` : arg);
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...args, "--out-dir", outDir],
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

async function freshDir(name: string): Promise<string> {
  const dir = `${ARTIFACTS}/${name}`;
  await Deno.remove(`${PROJECT_ROOT}/${dir}`, { recursive: true }).catch(() => {});
  return dir;
}

async function readExecuted(outDir: string, name: string): Promise<Notebook> {
  return JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}/${outDir}/executed/${name}`));
}

type Output = { output_type: string; data?: Record<string, string | string[]>; ename?: string };

function outputsOf(notebook: Notebook): Output[] {
  return notebook.cells.flatMap((cell) => (cell.outputs ?? []) as Output[]);
}

function text(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join("") : value ?? "";
}

/** Opens `html` in headless Chromium, saves a full-page screenshot to `screenshot` (under data/) and measures. */
async function inBrowser(request: Omit<MeasureRequest, "screenshot"> & { screenshot: string }): Promise<MeasureResult> {
  assert.ok(existsSync(CHROMIUM_PATH), `${CHROMIUM_PATH} is missing: run deno task setup`);
  return await measurePage({ ...request, screenshot: `${PROJECT_ROOT}/${request.screenshot}` }, PROJECT_ROOT);
}

Deno.test({
  name: "deno task report executes both notebooks with Jupyter and renders every chart in Chromium",
  async fn(t) {
    const paths = fixturePaths();
    try {
      await writeFixtureDatabase(paths);
      const outDir = await freshDir("report-fixture");
      const result = await runReport(outDir, {
        DUCKDB_PATH: paths.duckdbPath,
        LAKE_DIR: paths.lakeDir,
        NOTEBOOK_WINDOW_MINUTES: "60",
      });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      const htmlPath = result.stdout.trim().split("\n").at(-1)!;
      assert.match(htmlPath, new RegExp(`^${PROJECT_ROOT}/${outDir}/report-\\d{8}T\\d{6}Z\\.html$`));
      assert.match(result.stdout, /report: executed 01_market\.ipynb in/);
      const latest = `${PROJECT_ROOT}/${outDir}/latest.html`;
      assert.equal(await Deno.readTextFile(latest), await Deno.readTextFile(htmlPath));

      await t.step("the executed notebooks hold every chart, drawn with data, and no error", async () => {
        for (const [name, charts] of Object.entries(EXPECTED_CHARTS)) {
          const outputs = outputsOf(await readExecuted(outDir, name));
          assert.deepEqual(outputs.filter((o) => o.output_type === "error").map((o) => o.ename), [], name);
          const svgs = outputs.map((o) => text(o.data?.["image/svg+xml"])).filter((svg) => svg !== "");
          for (const output of outputs.filter((o) => o.data?.["image/svg+xml"])) {
            assert.equal(
              text(output.data!["text/html"]),
              text(output.data!["image/svg+xml"]),
              "the SVG as text/html too",
            );
          }
          const drawn = drawnCharts(svgs.join(""));
          assert.deepEqual(drawn.map((chart) => chart.label).sort(), Object.keys(charts).sort(), name);
          for (const [label, marks] of Object.entries(charts)) {
            const chart = drawnChart(svgs.join(""), label);
            for (const mark of marks) {
              assert.ok((chart.marks[mark] ?? 0) > 0, `${label}: ${JSON.stringify(chart.marks)}`);
            }
          }
          const load = outputs.map((o) => text(o.data?.["text/markdown"])).find((md) => md !== "");
          assert.match(load ?? "", /^\*\*BTCUSDT\*\*, 2025-03-01 23:1\d to 2025-03-02 00:1\d UTC \(60 minutes\)/);
        }
        const market = outputsOf(await readExecuted(outDir, "01_market.ipynb"));
        const table = market.map((o) => text(o.data?.["text/html"])).find((html) => html.includes('class="summary"'));
        assert.match(table ?? "", /BTCUSDT[\s\S]*ETHUSDT/);
      });

      await t.step("the HTML page is standalone: no scripts, every chart inline", async () => {
        const html = await Deno.readTextFile(htmlPath);
        assert.doesNotMatch(html, /<script/);
        const labels = drawnCharts(html).map((chart) => chart.label);
        for (const charts of Object.values(EXPECTED_CHARTS)) {
          for (const label of Object.keys(charts)) assert.equal(labels.filter((l) => l === label).length, 1, label);
        }
        assert.doesNotMatch(html, /No data yet/);
      });

      await t.step("Chromium shows every chart with a non-zero size and its data marks", async () => {
        const charts = Object.values(EXPECTED_CHARTS).flatMap((marks) =>
          Object.entries(marks).map(([label, [mark]]) => ({ label, mark: mark! }))
        );
        const seen = await inBrowser({
          html: htmlPath,
          screenshot: `${ARTIFACTS}/report-fixture.png`,
          charts,
          texts: ["Crypto pipeline report"],
        });
        for (const chart of seen.charts) {
          assert.equal(chart.count, 1, chart.label);
          assert.ok(chart.visible, `${chart.label} is visible`);
          assert.ok(chart.box && chart.box.width > 100 && chart.box.height > 50, JSON.stringify(chart));
          assert.ok(chart.markBox && (chart.markBox.width > 0 || chart.markBox.height > 0), JSON.stringify(chart));
        }
        assert.ok(seen.texts[0]!.visible);
        assert.ok((await Deno.stat(`${PROJECT_ROOT}/${ARTIFACTS}/report-fixture.png`)).size > 10_000);
      });
    } finally {
      await paths.cleanUp();
    }
  },
});

Deno.test({
  name: "deno task report with an empty database shows the no-data message in both notebooks, not a stack trace",
  async fn() {
    const paths = fixturePaths();
    try {
      await Deno.mkdir(paths.duckdbPath.replace(/\/[^/]+$/, ""), { recursive: true });
      (await DuckDBInstance.create(paths.duckdbPath)).closeSync(); // exists, holds no marts
      const outDir = await freshDir("report-empty");
      const result = await runReport(outDir, { DUCKDB_PATH: paths.duckdbPath, LAKE_DIR: paths.lakeDir });
      assert.equal(result.code, 0, result.stdout + result.stderr);

      for (const name of Object.keys(EXPECTED_CHARTS)) {
        const outputs = outputsOf(await readExecuted(outDir, name));
        assert.deepEqual(outputs.map((o) => o.output_type), ["execute_result"], `${name}: only the loading cell shows`);
        assert.match(text(outputs[0]!.data?.["text/markdown"]), /^\*\*No data yet — run `deno task demo`\.\*\*/);
      }
      const htmlPath = result.stdout.trim().split("\n").at(-1)!;
      assert.equal(drawnCharts(await Deno.readTextFile(htmlPath)).length, 0);
      const message = "No data yet — run deno task demo.";
      const seen = await inBrowser({
        html: htmlPath,
        screenshot: `${ARTIFACTS}/report-empty.png`,
        charts: [],
        texts: [message],
      });
      assert.deepEqual(seen.texts, [{ text: message, count: 2, visible: true }]);
    } finally {
      await paths.cleanUp();
    }
  },
});

/** "HH:MM", "MM-DD" (midnight) or "MM-DD HH:MM" tick labels as minutes, each read after the one before it. */
function tickMinutes(labels: readonly string[]): number[] {
  let day = 0;
  return labels.map((label) => {
    const date = /^(\d\d)-(\d\d)/.exec(label);
    if (date) day = Date.UTC(2025, Number(date[1]) - 1, Number(date[2])) / 60_000;
    const time = /(\d\d):(\d\d)$/.exec(label);
    return day + (time ? Number(time[1]) * 60 + Number(time[2]) : 0);
  });
}

const TIME_TICKS = /^(\d\d:\d\d|\d\d-\d\d|\d\d-\d\d \d\d:\d\d)$/;

Deno.test({
  name: "the report over 2, 60 and 1440 minutes: no console noise or warning, every chart drawn inside its plot " +
    "area with unique increasing time ticks, and the marts' figures",
  async fn(t) {
    const paths = fixturePaths();
    try {
      await writeFixtureDatabase(paths);
      const outDir = await freshDir("report-windows");
      for (const minutes of [2, 60, 1440]) {
        await t.step(`${minutes} minutes`, async () => {
          const env = { DUCKDB_PATH: paths.duckdbPath, LAKE_DIR: paths.lakeDir, NOTEBOOK_WINDOW_MINUTES: `${minutes}` };
          const result = await runReport(`${outDir}/${minutes}`, env);
          assert.equal(result.code, 0, result.stdout + result.stderr);
          assert.doesNotMatch(result.stdout + result.stderr, /Warning|warning/);
          const htmlPath = result.stdout.trim().split("\n").at(-1)!;
          const html = await Deno.readTextFile(htmlPath);
          assert.doesNotMatch(html, /Warning/);
          await Deno.mkdir(`${PROJECT_ROOT}/${outDir}/reports`, { recursive: true });
          const seen = await inBrowser({
            html: htmlPath,
            screenshot: `${outDir}/reports/window-${minutes}.png`,
            charts: [],
            texts: [],
            inspect: true,
            width: 1400,
          });
          const inspection = seen.inspection!;
          assert.deepEqual(inspection.console, [], "no console message");
          assert.equal(inspection.warningText, false, "no element says Warning");
          assert.ok(inspection.charts.length >= 12, `${inspection.charts.length} charts`);
          for (const chart of inspection.charts) {
            assert.ok(chart.dataMarks > 0, `${chart.label}: a data mark`);
            assert.deepEqual(chart.outside, [], `${chart.label}: marks inside the plot area`);
            if (chart.xTicks.length === 0 || !chart.xTicks.every((label) => TIME_TICKS.test(label))) continue;
            assert.equal(new Set(chart.xTicks).size, chart.xTicks.length, `${chart.label}: ${chart.xTicks.join(" ")}`);
            const at = tickMinutes(chart.xTicks);
            assert.ok(at.every((m, i) => i === 0 || m > at[i - 1]!), `${chart.label}: ${chart.xTicks.join(" ")}`);
          }

          // The headline and the status table say what the marts say over the same window.
          const market = await loadMarket(loadNotebookParams(new Map(Object.entries(env))));
          assert.ok(!isNoData(market));
          for (const pair of market.scorecard.pairs) {
            assert.ok(html.includes(gapsText(pair)), `${pair.pair}: ${gapsText(pair)}`);
            assert.ok(html.includes(`${pair.trades.toLocaleString("en-US")} trades`), `${pair.pair}: trades`);
          }
          const dlq = Object.values(market.scorecard.dlqByReason).reduce((sum, n) => sum + n, 0);
          assert.ok(
            html.includes(
              `DLQ events in the window: ${dlq}, of which ${market.scorecard.dlqWithoutPair} carried no pair`,
            ),
            "the DLQ note",
          );
        });
      }
    } finally {
      await paths.cleanUp();
    }
  },
});
