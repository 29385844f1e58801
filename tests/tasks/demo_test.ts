/**
 * `deno task demo`, the README's main command, end to end with a short duration: everything ingested once, the
 * marts built and tested, the report written, and nothing left running, also when interrupted.
 */
import assert from "node:assert/strict";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { collectOutput, runDenoTask, spawnTask } from "../helpers/tasks.ts";

/** Processes of the demo still alive: its broker (by data folder) and task scripts not running before it started. */
async function leftovers(before: string[]): Promise<string[]> {
  return (await taskProcesses()).filter((line) => !before.includes(line));
}

async function taskProcesses(): Promise<string[]> {
  // `e` adds each process's environment: the demo's children carry KAFKA_DATA_DIR=data/kafka-demo, other runs on
  // the machine (a CI checkout, other tests) do not.
  const output = await new Deno.Command("ps", { args: ["-eww", "e", "-o", "pid,stat,args"] }).output();
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => !/^\s*\d+\s+Z/.test(line)) // zombies are gone, only not yet reaped
    .filter((line) => line.includes("kafka-demo"))
    .filter((line) => /tasks\/\w+\.ts|kafka\.Kafka/.test(line))
    .map((line) => line.slice(0, 200));
}

Deno.test("demo task runs the pipeline offline end to end and stops everything it started", async () => {
  const before = await taskProcesses();
  const result = await runDenoTask(["demo", "--duration", "20", "--rate", "10"]);
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 0, output);
  for (const pair of ["BTCUSDT", "ETHUSDT", "SOLUSDT"]) {
    assert.match(
      output,
      new RegExp(
        `  ${pair} +\\d+ trades \\([1-9]\\d* archive\\), ids \\d+–\\d+ \\(all the exchange made\\): 0 missing, 0 doubled; ` +
          // The hour of history gives a full hour of candles, the live minutes one or two more.
          `(6[0-9]) candles`,
      ),
    );
  }
  assert.match(output, /dead-letter queue: \d+ events/);
  assert.match(output, /data tests passed/);
  assert.match(output, /candles vs the exchange's klines: (\d+) of \1 minutes match/);
  assert.ok((await Deno.stat(`${PROJECT_ROOT}/data/duckdb/demo/crypto.duckdb`)).size > 0);
  const report = /^ {2}report: (\S+)$/m.exec(output)?.[1];
  assert.ok(report, "the demo wrote the report");
  assert.ok((await Deno.stat(report.startsWith("/") ? report : `${PROJECT_ROOT}/${report}`)).size > 0, report);
  assertReportAgrees(await Deno.readTextFile(report.startsWith("/") ? report : `${PROJECT_ROOT}/${report}`), output);
  assert.deepEqual(await leftovers(before), []);
});

Deno.test("demo task stops everything it started when interrupted", async () => {
  const before = await taskProcesses();
  const demo = spawnTask("demo", {}, ["--duration", "600"]);
  const output = collectOutput(demo);
  const deadline = Date.now() + 120_000;
  while (!output.text().includes("capturing trades") && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.match(output.text(), /capturing trades/);
  demo.kill("SIGINT");
  const status = await demo.status;
  await output.done;
  assert.equal(status.code, 130, output.text());
  assert.match(output.text(), /interrupted: stopping everything the demo started/);
  assert.deepEqual(await leftovers(before), []);
});

/** The report's headline and status note say what the demo's summary says: klines, gaps and dead letters. */
function assertReportAgrees(html: string, summary: string): void {
  const sum = (pattern: RegExp, group: number) => [...html.matchAll(pattern)].reduce((n, m) => n + Number(m[group]), 0);
  const klines = /candles vs the exchange's klines: (\d+) of (\d+) minutes match/.exec(summary)!;
  assert.equal(sum(/klines (\d+) of (\d+) minutes match/g, 1), Number(klines[1]), "klines matched");
  assert.equal(sum(/klines (\d+) of (\d+) minutes match/g, 2), Number(klines[2]), "klines checked");
  const gaps = /gaps: (\d+) found, (\d+) healed \((\d+) ids\), (\d+) open/.exec(summary)!;
  const found = sum(/(\d+) gaps? found, \d+ healed/g, 1);
  assert.deepEqual(
    [found, sum(/gaps? found, (\d+) healed/g, 1), sum(/healed \((\d+) ids\)/g, 1), sum(/ids\), (\d+) open/g, 1)],
    gaps.slice(1).map(Number),
    "gaps found, healed, ids healed, open",
  );
  const dlq = /dead-letter queue: (\d+) events/.exec(summary)!;
  assert.match(html, new RegExp(`DLQ events in the window: ${dlq[1]}, of which \\d+ carried no pair`));
}
