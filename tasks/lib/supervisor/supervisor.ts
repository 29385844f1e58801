/**
 * The live pipeline's supervisor: keeps the producer and the consumer running, restarting one that exits with
 * capped exponential backoff (1 s doubling to 60 s, back to 1 s after a minute of stable running), runs refresh
 * every `refreshEveryMs` (never two at once; a failed run is logged and recorded, not fatal), records all of it in
 * `supervisor.json`, and on SIGTERM/SIGINT stops its children (SIGTERM, SIGKILL after a grace period) and returns.
 *
 * A component that exits with code 2 (its configuration is invalid) would fail the same way on every restart, so
 * the supervisor stops everything instead and returns 2.
 */
import { EXIT_USAGE } from "../cli.ts";
import { logMessage } from "../log.ts";
import { restartDelay } from "./backoff.ts";
import { isRefreshOutcome, parseLag } from "./progress.ts";
import { type Service, type ServiceExit, type ServiceOptions, startService } from "./service.ts";
import type { SupervisedLogins } from "../config.ts";
import type { Market } from "../market.ts";
import {
  type ComponentName,
  componentsFor,
  type ComponentSpec,
  newRecord,
  type RunFiles,
  writeRecord,
} from "./state.ts";
import { formatDuration } from "./status.ts";

/** What the supervisor needs. */
export interface SupervisorOptions {
  files: RunFiles;
  refreshEveryMs: number;
  /** The markets to run a producer and a consumer for (MARKETS). Default: spot. */
  markets?: readonly Market[];
  /** Where its own events and its children's lines go. */
  log: (line: string) => void;
  /** How long a child may take to stop after SIGTERM before SIGKILL. Default: 30 s. */
  graceMs?: number;
  /**
   * Starts a task (`env` says its market); tests pass a fake. Default: the task's script with its own permissions.
   */
  start?: (name: string, options: ServiceOptions, env: Record<string, string>) => Service;
  now?: () => number;
  /**
   * Rebuild the report (`deno task report`, reports/latest.html, which `deno task dashboard` serves) after each
   * refresh that succeeded. Default: false.
   */
  liveReport?: boolean;
  /** How each component logs in to Kafka, as its own user (loadSupervisedLogins). Default: PLAINTEXT. */
  logins?: SupervisedLogins;
}

/** How many timestamped report pages the live report keeps beside latest.html. */
export const LIVE_REPORTS_KEPT = 12;

/** Supervises until `signal` aborts (returns 0) or a component's configuration is invalid (returns 2). */
export async function runSupervisor(options: SupervisorOptions, signal: AbortSignal): Promise<number> {
  const { files, log, refreshEveryMs } = options;
  const now = options.now ?? Date.now;
  const start = options.start ?? ((name, serviceOptions, env) => startService(name, [], env, serviceOptions));
  const components = componentsFor(options.markets ?? ["spot"]);
  const specs = new Map<ComponentName, ComponentSpec>(components.map((spec) => [spec.name, spec]));
  const record = newRecord(Deno.pid, now(), refreshEveryMs, components.map((spec) => spec.name));
  const save = () => {
    record.supervisor.updatedAtMs = now();
    writeRecord(files, record);
  };
  const running = new Map<ComponentName, Service>();
  const pad = Math.max(8, ...[...specs.keys()].map((name) => name.length));
  const crashesInRow = new Map<ComponentName, number>();
  const lastLines = new Map<ComponentName, string>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };
  const stopping = new AbortController();
  let fatal: string | null = null;
  const onSignal = () => stopping.abort();
  signal.addEventListener("abort", onSignal, { once: true });

  /** Starts a component; a failure to even spawn counts as an exit. */
  function launch(name: ComponentName): void {
    const component = record.components[name]!;
    const spec = specs.get(name)!;
    let service: Service;
    try {
      // MARKET set either way: a spot component must not follow a MARKET the supervisor happened to inherit.
      service = start(spec.task, {
        keepStdout: false,
        onLine: (line) => {
          log(`${name.padEnd(pad)} │ ${line}`);
          const message = logMessage(line).trim(); // a JSON log line's message, or the line itself
          if (message !== "") lastLines.set(name, message);
          const lag = parseLag(message);
          if (lag !== undefined) {
            component.lag = { ...lag, atMs: now() };
            save();
          }
        },
      }, { MARKET: spec.market, ...options.logins?.env[spec.task] });
    } catch (error) {
      component.startedAtMs = now();
      scheduleRestart(name, `${name} could not be started: ${error instanceof Error ? error.message : error}`);
      return;
    }
    running.set(name, service);
    Object.assign(component, {
      state: "running",
      pid: service.pid,
      startedAtMs: now(),
      nextStartAtMs: null,
      lag: null,
    });
    save();
    void service.finished.then((exit) => onExit(name, service, exit));
  }

  function onExit(name: ComponentName, service: Service, exit: ServiceExit): void {
    running.delete(name);
    const component = record.components[name]!;
    component.pid = null;
    if (stopping.signal.aborted) {
      component.state = "stopped";
      save();
      return;
    }
    component.lastExit = { code: exit.code, signal: exit.signal, atMs: now() };
    if (exit.code === EXIT_USAGE) {
      fatal = `${name} exited with code ${EXIT_USAGE} (invalid configuration): ${lastLines.get(name) ?? "see the log"}`;
      log(`${fatal}; not restarting, stopping everything`);
      stopping.abort();
      return;
    }
    scheduleRestart(
      name,
      `${name} (pid ${service.pid}) exited with ${describeExit(exit)} after ${formatDuration(ranMs(name) / 1000)}`,
    );
  }

  function ranMs(name: ComponentName): number {
    return now() - (record.components[name]!.startedAtMs ?? now());
  }

  /** Logs why `name` stopped and when it starts again. */
  function scheduleRestart(name: ComponentName, why: string): void {
    const component = record.components[name]!;
    const next = restartDelay(crashesInRow.get(name) ?? 0, ranMs(name));
    crashesInRow.set(name, next.crashesInRow);
    component.state = "backoff";
    component.nextStartAtMs = now() + next.delayMs;
    save();
    log(`${why}; restarting in ${formatDuration(next.delayMs / 1000)} (crash ${next.crashesInRow} in a row)`);
    later(next.delayMs, () => {
      if (stopping.signal.aborted) return;
      component.restarts++;
      launch(name);
      if (component.pid !== null) log(`${name} restarted (pid ${component.pid}, restart ${component.restarts})`);
    });
  }

  function scheduleRefresh(atMs: number): void {
    Object.assign(record.refresh, { state: "waiting", pid: null, nextAtMs: atMs });
    save();
    later(Math.max(0, atMs - now()), runRefresh);
  }

  function runRefresh(): void {
    if (stopping.signal.aborted) return;
    const startedAtMs = now();
    let summary = "";
    let service: Service;
    try {
      service = start("refresh", {
        keepStdout: false,
        onLine: (line) => {
          log(`${"refresh".padEnd(pad)} │ ${line}`);
          if (isRefreshOutcome(logMessage(line))) summary = logMessage(line);
        },
      }, {});
    } catch (error) {
      finishRefresh(startedAtMs, { code: -1, signal: null, stdout: "" }, `refresh could not be started: ${error}`);
      return;
    }
    running.set("refresh", service);
    Object.assign(record.refresh, { state: "running", pid: service.pid, nextAtMs: null });
    save();
    void service.finished.then((exit) => {
      running.delete("refresh");
      finishRefresh(startedAtMs, exit, summary || `refresh exited with ${describeExit(exit)}`);
    });
  }

  // One report at a time: a refresh that ends while one is built asks for one more, built from the newer marts.
  let reportRunning = false;
  let reportAgain = false;
  function runReport(): void {
    if (!options.liveReport || stopping.signal.aborted) return;
    if (reportRunning) {
      reportAgain = true;
      return;
    }
    let service: Service;
    try {
      service = start("report", {
        keepStdout: false,
        onLine: (line) => log(`${"report".padEnd(pad)} │ ${line}`),
      }, { REPORT_KEEP: String(LIVE_REPORTS_KEPT) });
    } catch (error) {
      log(`report could not be started: ${error instanceof Error ? error.message : error}`);
      return;
    }
    reportRunning = true;
    running.set("report", service);
    void service.finished.then((exit) => {
      running.delete("report");
      reportRunning = false;
      if (stopping.signal.aborted) return;
      if (exit.code !== 0) log(`report failed (${describeExit(exit)}); the dashboard keeps showing the previous one`);
      if (reportAgain) {
        reportAgain = false;
        runReport();
      }
    });
  }

  function finishRefresh(startedAtMs: number, exit: ServiceExit, summary: string): void {
    const finishedAtMs = now();
    record.refresh.pid = null;
    if (stopping.signal.aborted && exit.code !== 0) {
      record.refresh.state = "stopped"; // cut short by a stop: not a failed run
      save();
      return;
    }
    const ok = exit.code === 0;
    record.refresh.runs++;
    if (!ok) record.refresh.failures++;
    record.refresh.last = { startedAtMs, finishedAtMs, code: exit.code, ok, summary };
    const took = formatDuration((finishedAtMs - startedAtMs) / 1000);
    log(ok ? `refresh done in ${took}` : `refresh failed (${describeExit(exit)}) after ${took}: ${summary}`);
    if (ok) runReport();
    if (stopping.signal.aborted) {
      record.refresh.state = "stopped";
      save();
    } else {
      scheduleRefresh(Math.max(startedAtMs + refreshEveryMs, finishedAtMs));
    }
  }

  save();
  log(
    `supervisor started (pid ${Deno.pid}): ${[...specs.keys()].join(", ")}, refresh every ` +
      `${formatDuration(refreshEveryMs / 1000)}`,
  );
  for (const name of specs.keys()) launch(name);
  scheduleRefresh(now() + refreshEveryMs);

  await new Promise<void>((resolve) =>
    stopping.signal.aborted ? resolve() : stopping.signal.addEventListener("abort", () => resolve(), { once: true })
  );
  signal.removeEventListener("abort", onSignal);
  for (const timer of timers) clearTimeout(timer);
  record.supervisor.state = "stopping";
  record.refresh.nextAtMs = null;
  save();
  const children = [...running.entries()];
  log(
    `stopping: SIGTERM to ${children.map(([name, service]) => `${name} (pid ${service.pid})`).join(", ") || "nothing"}`,
  );
  await Promise.all(children.map(([, service]) => service.stop(options.graceMs ?? 30_000)));
  for (const name of specs.keys()) {
    Object.assign(record.components[name]!, { state: "stopped", pid: null, nextStartAtMs: null });
  }
  Object.assign(record.refresh, { state: "stopped", pid: null });
  Object.assign(record.supervisor, { state: fatal === null ? "stopped" : "failed", reason: fatal });
  save();
  log(fatal === null ? "supervisor stopped" : `supervisor gave up: ${fatal}`);
  return fatal === null ? 0 : EXIT_USAGE;
}

/** `code 137 (SIGKILL)` or `code 1`. */
export function describeExit(exit: Pick<ServiceExit, "code" | "signal">): string {
  return `code ${exit.code}${exit.signal ? ` (${exit.signal})` : ""}`;
}
