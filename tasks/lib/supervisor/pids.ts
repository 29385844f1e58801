/**
 * Processes the supervisor's record names, checked and signalled with `ps` and `kill`: Deno.kill needs unscoped
 * --allow-run, while `ps` and `kill` can be named in the allow list. A PID counts as ours only while its command
 * line runs the script we started there, so a recycled PID is never mistaken for (or sent a signal meant for) ours.
 */
import { PROJECT_ROOT } from "../paths.ts";
import { taskArgs } from "../processes.ts";

/** A process the record says we started: its PID and the task script it runs. */
export interface OwnProcess {
  pid: number;
  /** e.g. `tasks/consumer.ts` */
  script: string;
}

/** The script a task runs, as its command line shows it (`tasks/consumer.ts`). */
export function taskScript(task: string): string {
  return taskArgs(task).find((arg) => arg.endsWith(".ts"))!;
}

/** Which of `processes` are alive and still run their script. */
export async function alivePids(processes: OwnProcess[]): Promise<Set<number>> {
  if (processes.length === 0) return new Set();
  const { stdout } = await new Deno.Command("ps", {
    args: ["-ww", "-o", "pid=,args=", "-p", processes.map((p) => p.pid).join(",")],
    stdout: "piped",
    stderr: "null",
  }).output();
  const commandLines = new Map<number, string>();
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (match) commandLines.set(Number(match[1]), match[2]!);
  }
  return new Set(
    processes.filter((p) => ` ${commandLines.get(p.pid) ?? ""} `.includes(` ${p.script} `)).map((p) => p.pid),
  );
}

/** Sends `signal` to each process that is still ours. */
export async function signalProcesses(processes: OwnProcess[], signal: "TERM" | "KILL"): Promise<void> {
  const alive = await alivePids(processes);
  if (alive.size === 0) return;
  await new Deno.Command("kill", { args: [`-${signal}`, ...[...alive].map(String)], stdout: "null", stderr: "null" })
    .output();
}

/** Waits until none of `processes` is alive; false when `timeoutMs` passes first. */
export async function waitForExit(processes: OwnProcess[], timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while ((await alivePids(processes)).size > 0) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return true;
}

/**
 * Starts a task's script in the background, in a session of its own with no terminal and no pipes, so it outlives
 * the caller and a Ctrl-C in the caller's terminal does not reach it.
 */
export function spawnDetachedTask(name: string, env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command("deno", {
    args: taskArgs(name),
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
}
