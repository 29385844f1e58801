/**
 * `deno task bench [--quick]`: runs every benchmark (producer, consumer, refresh, import) one after the other and
 * writes one JSON file and one markdown table — each figure, its goal, the reference measured in the same run and the
 * ratio — to reports/bench-<UTC time>.{json,md}, plus reports/bench-latest.md. `--quick` runs smaller sizes, for a
 * first look.
 *
 * Permissions: run deno (each benchmark is a task with its own permissions); read deno.json; write reports/.
 */
import { parseArgs } from "node:util";
import { runTask, TaskError } from "./lib/cli.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { benchMarkdown, benchRows } from "./lib/bench/report.ts";
import { spawnTask } from "./lib/processes.ts";

const RUNS = {
  producer: {
    task: "bench:producer",
    full: ["--secure"],
    quick: ["--secure", "--trades", "150000", "--latency-seconds", "10"],
  },
  consumer: { task: "bench:consumer", full: ["--secure"], quick: ["--secure", "--trades", "300000"] },
  refresh: { task: "bench:refresh", full: [], quick: ["--trades", "2000000"] },
  import: { task: "bench:import", full: [], quick: ["--quick"] },
} as const;

async function main(): Promise<number> {
  const { values } = parseArgs({ args: Deno.args, options: { quick: { type: "boolean", default: false } } });
  const results: Record<string, Record<string, unknown>> = {};
  const failed: string[] = [];
  for (const [name, run] of Object.entries(RUNS)) {
    console.error(`bench: ${run.task} ${values.quick ? "(quick)" : ""}`);
    // Each benchmark shows its progress on stderr (passed through) and prints one JSON document on stdout.
    const child = spawnTask(run.task, {}, [...(values.quick ? run.quick : run.full)]);
    const [stdout] = await Promise.all([
      new Response(child.stdout).text(),
      child.stderr.pipeTo(Deno.stderr.writable, { preventClose: true }),
    ]);
    const status = await child.status;
    try {
      if (!status.success) throw new Error(`exit code ${status.code}`);
      results[name] = JSON.parse(stdout);
    } catch (error) {
      failed.push(name);
      console.error(`bench: ${run.task} failed (${(error as Error).message}):\n${stdout.slice(-2000)}`);
    }
  }
  const rows = benchRows(results);
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "-");
  const markdown = benchMarkdown(rows, `Benchmarks ${stamp} UTC${values.quick ? " (quick)" : ""}`);
  await Deno.mkdir(`${PROJECT_ROOT}/reports`, { recursive: true });
  await Deno.writeTextFile(
    `${PROJECT_ROOT}/reports/bench-${stamp}.json`,
    JSON.stringify({ quick: values.quick, results, rows }, null, 2),
  );
  await Deno.writeTextFile(`${PROJECT_ROOT}/reports/bench-${stamp}.md`, markdown);
  await Deno.writeTextFile(`${PROJECT_ROOT}/reports/bench-latest.md`, markdown);
  console.log(markdown);
  console.log(`bench: reports/bench-${stamp}.json and .md`);
  if (failed.length > 0) throw new TaskError(`These benchmarks failed: ${failed.join(", ")}`);
  return 0;
}

if (import.meta.main) runTask("bench", main);
