/** What `deno task status` shows: the supervisor's record checked against the processes alive now. Pure. */
import type { SupervisorRecord } from "./state.ts";

/** One row of the status table. */
export interface StatusRow {
  /** `supervisor`, `refresh`, or a component: `producer`, `consumer`, `producer-usdm`, … */
  component: string;
  state: string;
  pid: number | null;
  uptimeSeconds: number | null;
  restarts: number | null;
  detail: string;
}

/** The pipeline's status: `running` when the supervisor, the producer and the consumer all run. */
export interface PipelineStatus {
  running: boolean;
  rows: StatusRow[];
}

/** Derives the status from the `record` (if any), the PIDs alive now (`alive`) and the time. */
export function pipelineStatus(
  record: SupervisorRecord | undefined,
  alive: ReadonlySet<number>,
  nowMs: number,
  logPath: string,
): PipelineStatus {
  if (record === undefined) {
    const stopped = (component: StatusRow["component"]): StatusRow => ({
      component,
      state: "stopped",
      pid: null,
      uptimeSeconds: null,
      restarts: null,
      detail: component === "supervisor" ? "never started here (deno task start)" : "",
    });
    return {
      running: false,
      rows: [stopped("supervisor"), stopped("producer"), stopped("consumer"), stopped("refresh")],
    };
  }
  const uptime = (startedAtMs: number | null) =>
    startedAtMs === null ? null : Math.max(0, Math.round((nowMs - startedAtMs) / 1000));
  const { supervisor } = record;
  const supervising = alive.has(supervisor.pid);
  const rows: StatusRow[] = [{
    component: "supervisor",
    state: supervising
      ? supervisor.state
      : supervisor.state === "running" || supervisor.state === "stopping"
      ? "dead"
      : supervisor.state,
    pid: supervising ? supervisor.pid : null,
    uptimeSeconds: supervising ? uptime(supervisor.startedAtMs) : null,
    restarts: null,
    detail: [supervisor.reason, `log ${logPath}`].filter((part) => part !== null).join("; "),
  }];

  for (const [name, component] of Object.entries(record.components)) {
    const isAlive = component.pid !== null && alive.has(component.pid);
    let state: string = component.state;
    if (!supervising) state = isAlive ? "orphaned" : "stopped";
    else if (component.state === "running" && !isAlive) state = "exited";
    const details: string[] = [];
    if (state === "backoff" && component.nextStartAtMs !== null) {
      details.push(`restart in ${formatDuration(Math.ceil(Math.max(0, component.nextStartAtMs - nowMs) / 1000))}`);
    }
    if (isAlive && component.lag !== null) details.push(formatLag(component.lag, nowMs));
    if (component.lastExit !== null) {
      const { code, signal, atMs } = component.lastExit;
      details.push(
        `last exit code ${code}${signal ? ` (${signal})` : ""} ${
          formatDuration(Math.round((nowMs - atMs) / 1000))
        } ago`,
      );
    }
    rows.push({
      component: name,
      state,
      pid: isAlive ? component.pid : null,
      uptimeSeconds: isAlive ? uptime(component.startedAtMs) : null,
      restarts: component.restarts,
      detail: details.join("; "),
    });
  }

  const { refresh } = record;
  const refreshing = supervising && refresh.pid !== null && alive.has(refresh.pid);
  const details: string[] = [];
  if (refresh.last !== null) {
    const { ok, code, startedAtMs, finishedAtMs, summary } = refresh.last;
    details.push(
      `last ${ok ? "ok" : `failed (exit code ${code})`} ${
        formatDuration(Math.round((nowMs - finishedAtMs) / 1000))
      } ago, ` +
        `took ${formatDuration((finishedAtMs - startedAtMs) / 1000)}: ${summary}`,
    );
  } else {
    details.push("no refresh yet");
  }
  if (supervising && refresh.nextAtMs !== null) {
    details.push(`next in ${formatDuration(Math.ceil(Math.max(0, refresh.nextAtMs - nowMs) / 1000))}`);
  }
  details.push(`every ${formatDuration(refresh.everyMs / 1000)}, ${refresh.runs} runs, ${refresh.failures} failed`);
  rows.push({
    component: "refresh",
    state: supervising ? (refreshing ? "running" : "waiting") : "stopped",
    pid: refreshing ? refresh.pid : null,
    uptimeSeconds: null,
    restarts: null,
    detail: details.join("; "),
  });

  const running = rows.every((row) => ["running", "waiting"].includes(row.state));
  return { running, rows };
}

/** The status as an aligned table. */
export function formatStatus(status: PipelineStatus): string {
  const header = ["component", "state", "pid", "uptime", "restarts", "lag, last refresh"];
  const cells = status.rows.map((row) => [
    row.component,
    row.state,
    row.pid === null ? "-" : String(row.pid),
    row.uptimeSeconds === null ? "-" : formatDuration(row.uptimeSeconds),
    row.restarts === null ? "-" : String(row.restarts),
    row.detail,
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...cells].map((line) => line[i]!.length)));
  return [header, ...cells]
    .map((line) => line.map((cell, i) => i === line.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n");
}

/** `0.3 s`, `45 s`, `12 min 5 s`, `3 h 2 min`, `2 d 4 h`. */
export function formatDuration(seconds: number): string {
  if (seconds < 10 && !Number.isInteger(seconds)) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

function formatLag(lag: NonNullable<SupervisorRecord["components"]["consumer"]["lag"]>, nowMs: number): string {
  const parts = [
    lag.messages === undefined ? undefined : `${lag.messages} messages`,
    lag.seconds === null ? "no trade yet" : `${lag.seconds.toFixed(1)} s behind trade time`,
  ].filter((part) => part !== undefined);
  const age = Math.round((nowMs - lag.atMs) / 1000);
  return `lag ${parts.join(", ")}${age > 15 ? ` (${formatDuration(age)} ago)` : ""}`;
}
