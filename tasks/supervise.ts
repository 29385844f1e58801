/**
 * `deno task supervise`: the live pipeline's supervisor in the foreground (`deno task start` runs it in the
 * background). Keeps a producer and a consumer running per market in MARKETS (default spot), restarting a crashed
 * one with backoff, runs refresh every REFRESH_EVERY and rebuilds reports/latest.html after each (LIVE_REPORT=0: not); records everything in RUN_DIR/supervisor.json and logs to RUN_DIR/supervisor.log (and
 * stdout). SIGTERM or Ctrl-C stops the children and exits.
 *
 * Under KAFKA_SECURITY_PROTOCOL=SASL_SSL the producer logs in as `producer` and the consumer as `consumer`, each
 * with its own password file from KAFKA_SECRETS_DIR (loadSupervisedLogins).
 *
 * Permissions: run deno (each component is a task started with its own permissions); read deno.json (their flags);
 * read and write only RUN_DIR (data/run); the Kafka login settings' names (never a password file: the children read
 * their own).
 */
import { runTask, shutdownSignal, TaskError } from "./lib/cli.ts";
import { loadLiveReport, loadMarkets, loadSupervisedLogins, loadSupervisorConfig } from "./lib/config.ts";
import { configuredRunFiles } from "./lib/supervisor/lifecycle.ts";
import { openLogFile } from "./lib/supervisor/log_file.ts";
import { runSupervisor } from "./lib/supervisor/supervisor.ts";

async function main(): Promise<number> {
  const config = loadSupervisorConfig(Deno.env);
  const markets = loadMarkets(Deno.env);
  const liveReport = loadLiveReport(Deno.env);
  const logins = loadSupervisedLogins(Deno.env);
  const files = configuredRunFiles(config);
  const signal = shutdownSignal();
  await Deno.mkdir(files.dir, { recursive: true });
  const logFile = openLogFile(files.log);
  const log = (line: string) => {
    logFile.write(line);
    console.log(line);
  };
  const lock = await tryLock(files.lock);
  if (lock === undefined) {
    log(`Cannot supervise: another supervisor runs in ${config.runDir}`);
    logFile.close();
    throw new TaskError(`Cannot supervise: another supervisor runs in ${config.runDir}`);
  }
  try {
    return await runSupervisor(
      { files, refreshEveryMs: config.refreshEveryMs, markets, log, liveReport, logins },
      signal,
    );
  } catch (error) {
    log(`supervisor failed: ${error instanceof Error ? error.stack : error}`);
    throw error;
  } finally {
    logFile.close();
    lock.close();
  }
}

/** The run folder's lock, or undefined when another supervisor holds it (Deno's lock only waits, so wait briefly). */
async function tryLock(path: string): Promise<Deno.FsFile | undefined> {
  const file = await Deno.open(path, { write: true, create: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const locked = await Promise.race([
    file.lock(true).then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 250))),
  ]);
  clearTimeout(timer);
  if (locked) return file;
  file.close();
  return undefined;
}

if (import.meta.main) runTask("supervise", main);
