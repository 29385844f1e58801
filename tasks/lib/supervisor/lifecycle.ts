/**
 * `start`, `stop` and `status` of the live pipeline, from outside the supervisor: they read its record, check
 * which of the processes it names are alive, and signal them.
 */
import { join, resolve } from "node:path";
import { TaskError } from "../cli.ts";
import type { SupervisedLogins, SupervisorConfig } from "../config.ts";
import { PROJECT_ROOT } from "../paths.ts";
import { alivePids, type OwnProcess, signalProcesses, spawnDetachedTask, taskScript, waitForExit } from "./pids.ts";
import { startService } from "./service.ts";
import { componentTask, readRecord, type RunFiles, runFiles, type SupervisorRecord } from "./state.ts";
import { type PipelineStatus, pipelineStatus } from "./status.ts";

/** Timing knobs; tests shorten them. */
export interface LifecycleOptions {
  log?: (line: string) => void;
  /** How long `start` waits for the components to come up. Default: 60 s. */
  startTimeoutMs?: number;
  /** How long the components must stay up before `start` returns. Default: 3 s. */
  settleMs?: number;
  /** How long `stop` waits for everything to exit before SIGKILL. Default: 45 s (the supervisor's grace + 15 s). */
  stopTimeoutMs?: number;
}

/** The run folder of `config`, resolved against the project root. */
export function configuredRunFiles(config: SupervisorConfig): RunFiles {
  return runFiles(resolve(PROJECT_ROOT, config.runDir));
}

/** The status of the pipeline whose run folder is `files`. */
export async function readStatus(files: RunFiles, logPath: string): Promise<PipelineStatus> {
  const record = readRecord(files);
  const processes = record === undefined ? [] : recordedProcesses(record);
  return pipelineStatus(record, await alivePids(processes), Date.now(), logPath);
}

/**
 * Starts the supervisor in the background and returns once it runs the producer and the consumer and both have
 * stayed up for `settleMs`. Already running: says so. With `withKafka`, starts the local broker and the topics
 * first (secure, with `topics` as `admin`, when `logins` say SASL_SSL). Returns the supervisor's PID.
 */
export async function startPipeline(
  config: SupervisorConfig,
  withKafka: boolean,
  logins: SupervisedLogins,
  options: LifecycleOptions = {},
): Promise<number> {
  const log = options.log ?? console.log;
  const files = configuredRunFiles(config);
  await Deno.mkdir(files.dir, { recursive: true });
  const previous = readRecord(files);
  if (previous !== undefined) {
    const processes = recordedProcesses(previous);
    const alive = await alivePids(processes);
    if (alive.has(previous.supervisor.pid)) {
      log(`The live pipeline is already running (supervisor pid ${previous.supervisor.pid}); see deno task status`);
      return previous.supervisor.pid;
    }
    const orphans = processes.filter((p) => alive.has(p.pid));
    if (orphans.length > 0) {
      log(`Stopping what a supervisor that is gone left running: pid ${orphans.map((p) => p.pid).join(", ")}`);
      await stopProcesses(orphans, options.stopTimeoutMs ?? 45_000);
    }
  }
  if (withKafka) {
    await runStep("kafka", logins.secure ? ["start", "--secure"] : ["start"], {});
    await runStep("topics", [], logins.env.admin);
  }

  const child = spawnDetachedTask("supervise", {});
  let exit: Deno.CommandStatus | undefined;
  void child.status.then((status) => exit = status);
  const failed = (why: string) => new TaskError(`${why}; the end of ${files.log}:\n${tail(files.log, 15)}`.trimEnd());
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = performance.now() + timeoutMs;
  while (!componentsUp(readRecord(files), child.pid)) {
    if (exit !== undefined) throw failed(`The supervisor exited with code ${exit.code} while starting`);
    if (performance.now() > deadline) {
      child.kill("SIGTERM");
      await child.status;
      throw failed(`The producer and the consumer did not start within ${timeoutMs / 1000} s; stopped the supervisor`);
    }
    await sleep(200);
  }
  await sleep(options.settleMs ?? 3000);
  if (exit !== undefined) throw failed(`The supervisor exited with code ${exit.code} while starting`);
  child.unref();
  const record = readRecord(files)!;
  const pids = Object.entries(record.components).map(([name, c]) => `${name} pid ${c.pid ?? "(restarting)"}`)
    .join(", ");
  log(`Started the live pipeline: supervisor pid ${child.pid}, ${pids}.`);
  log(`Log: ${join(config.runDir, "supervisor.log")}; deno task status shows it, deno task stop stops it.`);
  return child.pid;
}

/**
 * Stops the supervisor (SIGTERM: it stops its children and exits) and waits until it and its children are gone,
 * SIGKILLing what is left after `stopTimeoutMs`. Also stops components left running by a supervisor that died.
 */
export async function stopPipeline(config: SupervisorConfig, options: LifecycleOptions = {}): Promise<void> {
  const log = options.log ?? console.log;
  const files = configuredRunFiles(config);
  const record = readRecord(files);
  const processes = record === undefined ? [] : recordedProcesses(record);
  const living = await alivePids(processes);
  if (living.size === 0) {
    log("The live pipeline is not running");
    return;
  }
  const started = performance.now();
  const supervisor = processes[0]!;
  if (living.has(supervisor.pid)) {
    log(`Stopping the live pipeline: SIGTERM to the supervisor (pid ${supervisor.pid})`);
    await stopProcesses([supervisor], options.stopTimeoutMs ?? 45_000, processes);
  }
  // What the supervisor could not stop, or what one that died left behind.
  const left = recordedProcesses(readRecord(files)!).concat(processes);
  const leftAlive = [...await alivePids(left)];
  if (leftAlive.length > 0) {
    log(`Stopping what the supervisor left running: pid ${leftAlive.join(", ")}`);
    await stopProcesses(left.filter((p) => leftAlive.includes(p.pid)), options.stopTimeoutMs ?? 45_000);
  }
  log(`Stopped the live pipeline in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** The supervisor (first) and the children its record names. */
export function recordedProcesses(record: SupervisorRecord): OwnProcess[] {
  const processes: OwnProcess[] = [{ pid: record.supervisor.pid, script: taskScript("supervise") }];
  for (const [name, component] of Object.entries(record.components)) {
    if (component.pid !== null) processes.push({ pid: component.pid, script: taskScript(componentTask(name)) });
  }
  if (record.refresh.pid !== null) processes.push({ pid: record.refresh.pid, script: taskScript("refresh") });
  return processes;
}

/** SIGTERM to `targets`, then waits for them and `waitFor` to exit; SIGKILL to all after `timeoutMs`. */
async function stopProcesses(targets: OwnProcess[], timeoutMs: number, waitFor: OwnProcess[] = targets) {
  await signalProcesses(targets, "TERM");
  if (!await waitForExit(waitFor, timeoutMs)) {
    await signalProcesses(waitFor, "KILL");
    await waitForExit(waitFor, 10_000);
  }
}

function componentsUp(record: SupervisorRecord | undefined, supervisorPid: number): boolean {
  return record?.supervisor.pid === supervisorPid &&
    Object.values(record.components).every((component) => component.state === "running");
}

async function runStep(name: string, args: string[], env: Record<string, string>): Promise<void> {
  const { code } = await startService(name, args, env).finished;
  if (code !== 0) throw new TaskError(`deno task ${[name, ...args].join(" ")} failed (exit code ${code}); see above`);
}

function tail(path: string, lines: number): string {
  try {
    return Deno.readTextFileSync(path).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
