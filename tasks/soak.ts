/**
 * `deno task soak [--minutes N] [--rate R]`: the full pipeline at R trades/s (default 2,000) for N minutes (default
 * 15) with a refresh every minute, on a broker and folders of its own (data/*\/soak, port 19192). It reports the
 * resident memory of the producer and the consumer (and, for information, the local exchange), as the mean of the
 * first two minutes after a warm-up against the mean of the last two (the goal: growth under 10 %), the largest consumer
 * lag, the end-to-end p99 (trade time → lake file) and whether any trade was lost or doubled. Prints the report and one JSON line; exit code 0 when it held, 1 when not.
 *
 * Permissions: run deno (each component is a task with its own permissions) and ps (memory); read deno.json and
 * data/; write only the soak's folders; net to the soak broker on loopback; FFI for DuckDB (reading the lake).
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { runTask, wholeNumberFlag } from "./lib/cli.ts";
import { openConfinedDuckDB, sqlString } from "./lib/duckdb.ts";
import { DEMO_SYMBOLS, listeningPort, sandboxDirs, sandboxEnvironment } from "./lib/demo/plan.ts";
import { formatSoak, memoryOf, soakHeld, type SoakReport } from "./lib/demo/soak_report.ts";
import { consumerLag, runStep, sleep, waitForConsumer, waitForCoordinators } from "./lib/demo/steps.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { type Service, startService } from "./lib/supervisor/service.ts";

const BROKERS = "localhost:19192";
const DIRS = sandboxDirs("soak");

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { minutes: { type: "string", default: "15" }, rate: { type: "string", default: "2000" } },
  });
  const minutes = wholeNumberFlag("minutes", values.minutes, 1, 24 * 60);
  const rate = wholeNumberFlag("rate", values.rate, 1, 50_000);
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const { signal } = interrupted;
  const say = (line: string) => console.error(`soak: ${line}`);
  // Only what needs a person's eye: the components' warnings and errors.
  const quiet = (name: string) => ({
    keepStdout: false,
    onLine: (line: string) => /error|warn|exited|crash/i.test(line) && console.error(`  ${name} │ ${line}`),
  });
  const services: Service[] = [];
  let brokerStarted = false;
  try {
    // 1. A clean broker and folders of the soak's own.
    await runStep("kafka", ["stop"], sandboxEnvironment("soak", BROKERS), signal);
    for (const dir of Object.values(DIRS)) {
      await Deno.remove(resolve(PROJECT_ROOT, dir), { recursive: true }).catch(() => {});
    }
    brokerStarted = true;
    await runStep("kafka", ["start"], sandboxEnvironment("soak", BROKERS), signal);
    await runStep("topics", [], sandboxEnvironment("soak", BROKERS), signal);
    await waitForCoordinators(BROKERS, signal);

    // 2. Exchange, producer, consumer.
    const exchange = startService("exchange", [
      "--port=0",
      `--symbols=${DEMO_SYMBOLS.join(",")}`,
      `--rate=${rate}`,
      "--wait-for-client",
      "--progress-interval=0",
      // The fake exchange keeps trades for REST backfill; a bounded history keeps its own memory flat.
      "--history=100000",
    ], {});
    services.push(exchange);
    const port = await exchange.waitForLine(listeningPort, 30_000, signal);
    const env = {
      ...sandboxEnvironment("soak", BROKERS, port),
      PRODUCER_METRICS_PORT: "0",
      CONSUMER_METRICS_PORT: "0",
    };
    const producer = startService("producer", [], env, quiet("producer"));
    const consumer = startService("consumer", [], env, quiet("consumer"));
    services.push(producer, consumer);
    const components = { exchange, producer, consumer };

    // 3. Run: a refresh every minute; lag and memory every 10 s (memory from the end of the warm-up).
    const warmUpMs = Math.min(60_000, minutes * 15_000);
    const startedMs = Date.now();
    const endMs = startedMs + minutes * 60_000;
    const rssSamples = new Map<string, number[]>(Object.keys(components).map((name) => [name, []]));
    const refreshes = { ok: 0, failed: 0, maxSeconds: 0 };
    let maxLag = 0;
    let nextRefreshMs = startedMs + 60_000;
    say(`${minutes} min at ${rate} trades/s over ${DEMO_SYMBOLS.length} symbols, a refresh every minute`);
    while (Date.now() < endMs) {
      await sleep(Math.min(10_000, endMs - Date.now()), signal);
      for (const service of services) service.assertRunning();
      maxLag = Math.max(maxLag, await consumerLag(BROKERS) ?? 0);
      if (Date.now() - startedMs >= warmUpMs) {
        for (const [component, service] of Object.entries(components)) {
          rssSamples.get(component)!.push(await residentKib(service.pid));
        }
      }
      if (Date.now() >= nextRefreshMs) {
        const refreshStartedMs = performance.now();
        const outcome = await runStep("refresh", [], env, signal, [0, 1]).then(() => "ok", () => "failed");
        refreshes[outcome as "ok" | "failed"]++;
        refreshes.maxSeconds = Math.max(refreshes.maxSeconds, (performance.now() - refreshStartedMs) / 1000);
        nextRefreshMs += 60_000;
        say(
          `${Math.round((Date.now() - startedMs) / 60_000)} of ${minutes} min; consumer lag up to ${maxLag} messages`,
        );
      }
    }

    // 4. Stop the market and the producer, let the consumer finish, and read the lake.
    await fetch(`http://127.0.0.1:${port}/admin/halt`, { method: "POST" }).then((r) => r.body?.cancel());
    await sleep(3000, signal);
    await producer.stop();
    await waitForConsumer(BROKERS, signal);
    const report: SoakReport = {
      minutes,
      tradesPerSecond: rate,
      ...await readLake(startedMs + warmUpMs),
      refreshes,
      maxLagMessages: maxLag,
      // Start and end are the means of the first and last two minutes of samples.
      memory: [...rssSamples].map(([component, samples]) => memoryOf(component, samples, 12)),
    };
    console.error(formatSoak(report));
    console.log(JSON.stringify({ event: "soak_report", held: soakHeld(report), ...report }));
    return soakHeld(report) ? 0 : 1;
  } catch (error) {
    if (signal.aborted) {
      say("interrupted: stopping everything the soak started");
      return 130;
    }
    throw error;
  } finally {
    for (const service of services.toReversed()) await service.stop().catch(() => {});
    if (brokerStarted) await runStep("kafka", ["stop"], sandboxEnvironment("soak", BROKERS), undefined).catch(() => {});
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

/** Resident memory of a process in KiB (0 when it is gone). */
async function residentKib(pid: number): Promise<number> {
  const output = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(output.stdout).trim()) || 0;
}

/** Trades in the lake, ids missing or doubled per pair, and the p99 from trade time to lake file after the warm-up. */
async function readLake(afterMs: number) {
  const lake = resolve(PROJECT_ROOT, DIRS.lake);
  const duckdb = await openConfinedDuckDB(":memory:", { allowedPaths: [`${lake}/`] });
  try {
    const reader = await duckdb.connection.runAndReadAll(`
      with lake as (
        select * from read_parquet(${sqlString(`${lake}/pair=*/trade_date=*/hour=*/*.parquet`)},
          hive_partitioning = true, union_by_name = true)
      ),
      per_pair as (
        select pair, count(*) as trades, count(distinct trade_id) as ids, max(trade_id) - min(trade_id) + 1 as span
        from lake group by pair
      )
      select
        (select sum(trades) from per_pair)::bigint as trades,
        (select sum(span - ids) from per_pair)::bigint as missing,
        (select sum(trades - ids) from per_pair)::bigint as doubled,
        (select quantile_cont(date_diff('millisecond', trade_time, lake_written_at), 0.99) from lake
          where trade_time >= make_timestamp(${Math.trunc(afterMs)}::bigint * 1000)) as p99`);
    const [row] = reader.getRowObjectsJson();
    return {
      trades: Number(row!.trades),
      missing: Number(row!.missing),
      doubled: Number(row!.doubled),
      endToEndP99Ms: row!.p99 === null ? null : Number(row!.p99),
    };
  } finally {
    duckdb.close();
  }
}

if (import.meta.main) runTask("soak", main);
