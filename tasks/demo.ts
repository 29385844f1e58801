/**
 * `deno task demo [--duration S] [--rate N]`: the whole pipeline offline, end to end. It installs what is missing,
 * starts a Kafka broker of its own and the topics, the local exchange (three symbols, with faults), imports the hour
 * before now from the exchange's trade archive, runs the producer and the consumer for S seconds (default 120), then
 * refreshes the marts, checks the candles against the exchange's klines, writes the report, prints what was
 * ingested, and stops everything it started, also on Ctrl-C.
 *
 * Every run starts clean under data/*\/demo (its own broker on port 19092, lake, database, producer state and
 * archive downloads), so running it twice works and the user's own data is never touched.
 *
 * Permissions: run deno (each step is a task with its own permissions); read deno.json and data/; write only the
 * demo's folders; net to the demo broker on loopback (to wait for the consumer); FFI for DuckDB (the summary).
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { runTask, wholeNumberFlag } from "./lib/cli.ts";
import { openConfinedDuckDB, sqlString } from "./lib/duckdb.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { taskArgs } from "./lib/processes.ts";
import {
  DEMO_BROKERS,
  DEMO_DIRS,
  DEMO_FAULTS,
  DEMO_HISTORY_MINUTES,
  DEMO_SYMBOLS,
  demoEnvironment,
  type DemoOutcome,
  formatOutcome,
  historyDays,
  isComplete,
  listeningPort,
  type PairOutcome,
} from "./lib/demo/plan.ts";
import { readScorecard, scorecardTotals, type ScoreRow } from "./lib/warehouse/scorecard.ts";
import { runStep, sleep, summaryOf, waitForConsumer, waitForCoordinators } from "./lib/demo/steps.ts";
import { type Service, startService } from "./lib/supervisor/service.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { duration: { type: "string", default: "120" }, rate: { type: "string", default: "50" } },
  });
  const durationS = wholeNumberFlag("duration", values.duration, 5, 86_400);
  const rate = wholeNumberFlag("rate", values.rate, 1, 10_000);
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const { signal } = interrupted;
  const started: Service[] = [];
  let brokerStarted = false;
  const say = (line: string) => console.log(`demo: ${line}`);

  try {
    // 1. Install what is missing; stop a broker an interrupted demo may have left; start clean.
    say("installing what is missing (Kafka jars, Python packages), once");
    await runStep("setup", [], {}, signal);
    await runStep("kafka", ["stop"], demoEnvironment(), signal);
    for (const dir of Object.values(DEMO_DIRS)) {
      await Deno.remove(resolve(PROJECT_ROOT, dir), { recursive: true }).catch(() => {});
    }

    // 2. Kafka and the topics.
    say(`starting a Kafka broker of the demo's own on ${DEMO_BROKERS}`);
    brokerStarted = true;
    await runStep("kafka", ["start"], demoEnvironment(), signal);
    await runStep("topics", [], demoEnvironment(), signal);
    await waitForCoordinators(DEMO_BROKERS, signal);

    // 3. The exchange, with an hour of history.
    const exchange = startService("exchange", [
      "--port=0",
      `--symbols=${DEMO_SYMBOLS.join(",")}`,
      `--rate=${rate * DEMO_SYMBOLS.length}`, // the exchange's rate is for all its symbols together
      `--faults=${DEMO_FAULTS}`,
      `--seed=${Date.now() % 1_000_000}`,
      "--wait-for-client", // the market opens when the producer connects: its first minute is whole
      `--prefill-minutes=${DEMO_HISTORY_MINUTES}`, // the hour before it, served by its REST API and its archive
    ], demoEnvironment());
    started.push(exchange);
    const port = await exchange.waitForLine(listeningPort, 30_000, signal);
    const env = demoEnvironment(port);
    say(`local exchange on 127.0.0.1:${port}: ${DEMO_SYMBOLS.join(", ")} at ${rate} trades/s each, with faults`);

    // 4. History first: the last hour from the exchange's trade archive, as `deno task import` brings any past day.
    const { from, to } = historyDays(Date.now(), DEMO_HISTORY_MINUTES);
    say(`importing the last ${DEMO_HISTORY_MINUTES} minutes from the exchange's trade archive`);
    await runStep("import", [`--symbols=${DEMO_SYMBOLS.join(",")}`, `--from=${from}`, `--to=${to}`], env, signal);
    // 5. The producer and the consumer, live.
    const producer = startService("producer", [], env);
    const consumer = startService("consumer", [], env);
    started.push(producer, consumer);

    // 6. Live for the duration.
    say(`capturing trades for ${durationS} s (Ctrl-C stops everything)`);
    const liveStarted = performance.now();
    for (let left = durationS; left > 0; left -= 15) {
      await sleep(Math.min(15, left) * 1000, signal);
      for (const service of started) service.assertRunning();
      const elapsed = Math.round((performance.now() - liveStarted) / 1000);
      if (elapsed < durationS) say(`${elapsed} of ${durationS} s`);
    }

    // 7. Close the market, stop capturing once the last trades are in, let the consumer write everything Kafka
    //    holds, then stop it.
    const closing = await (await fetch(`http://127.0.0.1:${port}/admin/halt`, { method: "POST" })).json();
    say("market closed; stopping the producer once the last trades are in (it flushes everything it accepted)");
    await sleep(3000, signal);
    const producerSummary = summaryOf(await producer.stop(), "producer_summary");
    say("waiting for the consumer to write every trade in Kafka to the lake");
    await waitForConsumer(DEMO_BROKERS, signal);
    await consumer.stop();

    // 8. Marts, reconciliation with the exchange's klines, report.
    say("building the marts");
    await runStep("refresh", [], env, signal, [0, 1]);
    say("checking closed minutes against the exchange's own 1-minute klines");
    await runStep("reconcile", ["--settle-seconds=5"], env, signal);
    await exchange.stop();
    let reportPath: string | undefined;
    if (hasTask("report")) {
      say("writing the report");
      // The window holds the whole run, the hour of history and the live minutes, so the report shows every minute
      // the summary below counts.
      const windowMinutes = DEMO_HISTORY_MINUTES + Math.ceil(durationS / 60) + 5;
      const output = await runStep("report", [], { ...env, NOTEBOOK_WINDOW_MINUTES: String(windowMinutes) }, signal);
      reportPath = /(\S*reports\/\S+\.html)/.exec(output)?.[1];
    }

    // 9. What was ingested.
    const outcome = await readOutcome(producerSummary, closing.symbols, durationS, reportPath);
    console.log(formatOutcome(outcome));
    return outcome.testsFailed === 0 && outcome.pairs.every(isComplete) ? 0 : 1;
  } catch (error) {
    if (signal.aborted) {
      say("interrupted: stopping everything the demo started");
      return 130;
    }
    throw error;
  } finally {
    for (const service of started.toReversed()) await service.stop().catch(() => {});
    if (brokerStarted) {
      await runStep("kafka", ["stop"], demoEnvironment(), undefined).catch((error) => say(error.message));
    }
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

/** What the lake and the marts hold after the run. */
async function readOutcome(
  producer: Record<string, unknown>,
  exchange: Record<string, { firstId: number | null; lastId: number | null }>,
  seconds: number,
  reportPath: string | undefined,
): Promise<DemoOutcome> {
  const lake = resolve(PROJECT_ROOT, DEMO_DIRS.lake);
  const database = resolve(PROJECT_ROOT, `${DEMO_DIRS.database}/crypto.duckdb`);
  const duckdb = await openConfinedDuckDB(":memory:", { allowedPaths: [`${lake}/`, `${resolve(database, "..")}/`] });
  try {
    const rows = async (sql: string) => (await duckdb.connection.runAndReadAll(sql)).getRowObjectsJson();
    await duckdb.connection.run(`attach ${sqlString(database)} as marts_db (read_only)`);
    const pairs = await rows(`
      with lake as (
        select * from read_parquet(${sqlString(`${lake}/pair=*/trade_date=*/hour=*/*.parquet`)},
          hive_partitioning = true, union_by_name = true)
      ),
      per_pair as (
        select pair, count(*) as trades, count(*) filter (where provenance = 'archive') as archived,
          count(distinct trade_id) as ids, min(trade_id) as first_id, max(trade_id) as last_id,
          quantile_cont(date_diff('millisecond', trade_time, ingested_at), 0.99)
            filter (where provenance = 'live') as p99
        from lake group by pair
      )
      select per_pair.*, (select count(*) from marts_db.marts.fct_candles_1m c where c.pair = per_pair.pair) as candles
      from per_pair order by pair`);
    const [facts] = await rows(
      `select (select tests_failed from marts_db.meta.refresh_runs order by finished_at desc limit 1) as tests_failed`,
    );
    // Gaps, dead letters and the kline check as the report's headline and status table read them: one scorecard.
    await duckdb.connection.run("use marts_db");
    const card = await readScorecard(
      async (sql, values) => (await duckdb.connection.runAndReadAll(sql, values)).getRowObjectsJson() as ScoreRow[],
      null,
    );
    const totals = scorecardTotals(card);
    return {
      seconds,
      pairs: pairs.map((row): PairOutcome => ({
        pair: String(row.pair),
        trades: Number(row.trades),
        archived: Number(row.archived),
        distinctIds: Number(row.ids),
        firstId: Number(row.first_id),
        lastId: Number(row.last_id),
        candles: Number(row.candles),
        ingestP99Ms: row.p99 === null ? null : Number(row.p99),
        exchangeFirstId: exchange[String(row.pair)]?.firstId ?? null,
        exchangeLastId: exchange[String(row.pair)]?.lastId ?? null,
      })),
      dlq: card.dlqByReason,
      gapsFound: totals.gapsFound,
      gapsHealed: totals.gapsHealed,
      idsHealed: totals.idsHealed,
      openGaps: totals.gapsOpen,
      reconnects: Number(producer.reconnects ?? 0),
      klinesChecked: totals.klinesChecked,
      klinesMatched: totals.klinesMatched,
      testsFailed: Number(facts!.tests_failed ?? 0),
      databasePath: `${DEMO_DIRS.database}/crypto.duckdb`,
      ...(reportPath ? { reportPath } : {}),
    };
  } finally {
    duckdb.close();
  }
}

function hasTask(name: string): boolean {
  try {
    taskArgs(name);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) runTask("demo", main);
