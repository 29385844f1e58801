/**
 * The live pipeline's run folder (RUN_DIR): `supervisor.json`, the supervisor's record of itself, its components
 * and the refresh loop, rewritten atomically on every change, and `supervisor.log`. `status`, `stop` and `start`
 * read the record; only the supervisor writes it.
 */
import { join } from "node:path";
import type { Market } from "../market.ts";
import type { Lag } from "./progress.ts";

/** The tasks the supervisor keeps running, one of each per market. */
export const COMPONENT_TASKS = ["producer", "consumer"] as const;
/** A supervised task. */
export type ComponentTask = typeof COMPONENT_TASKS[number];
/** A supervised component: `producer`, `consumer` (spot), `producer-usdm`, `consumer-usdm`. */
export type ComponentName = string;

/** What one supervised component runs. */
export interface ComponentSpec {
  name: ComponentName;
  task: ComponentTask;
  market: Market;
}

/** The components of `markets`: spot's keep their plain names, another market's carry it as a suffix. */
export function componentsFor(markets: readonly Market[]): ComponentSpec[] {
  return markets.flatMap((market) =>
    COMPONENT_TASKS.map((task) => ({ name: market === "spot" ? task : `${task}-${market}`, task, market }))
  );
}

/** The task a component name runs (`producer-usdm` → `producer`). */
export function componentTask(name: ComponentName): ComponentTask {
  return name.startsWith("consumer") ? "consumer" : "producer";
}

/** One supervised component. */
export interface ComponentRecord {
  /** `running`; `backoff` (exited, restart pending); `stopped` (by a stop). */
  state: "running" | "backoff" | "stopped";
  pid: number | null;
  startedAtMs: number | null;
  /** Times it was started again after exiting on its own. */
  restarts: number;
  /** Its last exit on its own. */
  lastExit: { code: number; signal: string | null; atMs: number } | null;
  nextStartAtMs: number | null;
  /** From its last progress line. */
  lag: (Lag & { atMs: number }) | null;
}

/** One refresh run. */
export interface RefreshRun {
  startedAtMs: number;
  finishedAtMs: number;
  code: number;
  ok: boolean;
  /** Its one-line outcome, e.g. `refresh: incremental, …: 12 models, tests 30 passed, 0 failed, …`. */
  summary: string;
}

/** The refresh loop. */
export interface RefreshRecord {
  state: "waiting" | "running" | "stopped";
  pid: number | null;
  everyMs: number;
  nextAtMs: number | null;
  runs: number;
  failures: number;
  last: RefreshRun | null;
}

/** Everything `supervisor.json` holds. */
export interface SupervisorRecord {
  version: 1;
  supervisor: {
    /** `stopped` after a clean stop; `failed` when it gave up (`reason` says why). */
    state: "running" | "stopping" | "stopped" | "failed";
    pid: number;
    startedAtMs: number;
    updatedAtMs: number;
    reason: string | null;
  };
  components: Record<ComponentName, ComponentRecord>;
  refresh: RefreshRecord;
}

/** The files of a run folder. */
export interface RunFiles {
  dir: string;
  record: string;
  log: string;
  /** Held by the running supervisor, so two never share a run folder. */
  lock: string;
}

/** The files of run folder `dir`. */
export function runFiles(dir: string): RunFiles {
  return {
    dir,
    record: join(dir, "supervisor.json"),
    log: join(dir, "supervisor.log"),
    lock: join(dir, "supervisor.lock"),
  };
}

/** A record for a supervisor that has just started, nothing running yet. */
export function newRecord(
  pid: number,
  nowMs: number,
  refreshEveryMs: number,
  components: readonly ComponentName[] = ["producer", "consumer"],
): SupervisorRecord {
  const component = (): ComponentRecord => ({
    state: "stopped",
    pid: null,
    startedAtMs: null,
    restarts: 0,
    lastExit: null,
    nextStartAtMs: null,
    lag: null,
  });
  return {
    version: 1,
    supervisor: { state: "running", pid, startedAtMs: nowMs, updatedAtMs: nowMs, reason: null },
    components: Object.fromEntries(components.map((name) => [name, component()])),
    refresh: {
      state: "waiting",
      pid: null,
      everyMs: refreshEveryMs,
      nextAtMs: null,
      runs: 0,
      failures: 0,
      last: null,
    },
  };
}

/** Writes the record atomically: a reader sees the old one or the new one, never half of either. */
export function writeRecord(files: RunFiles, record: SupervisorRecord): void {
  const temporary = `${files.record}.${record.supervisor.pid}.tmp`;
  Deno.writeTextFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  Deno.renameSync(temporary, files.record);
}

/** The record in the run folder, or undefined when no supervisor ever ran there. */
export function readRecord(files: RunFiles): SupervisorRecord | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(files.record);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const record = JSON.parse(text);
  if (record?.version !== 1) throw new SyntaxError(`Cannot read ${files.record}: unknown version ${record?.version}`);
  return record as SupervisorRecord;
}
