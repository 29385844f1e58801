/**
 * A project task run as a child process: each with its own permissions, its output handed over line by line (by
 * default shown indented under its name), stopped with SIGTERM then SIGKILL so nothing outlives its parent.
 * The demo and the live pipeline's supervisor both start their tasks this way.
 */
import { TaskError } from "../cli.ts";
import { spawnTask } from "../processes.ts";

/** How a finished task exited. */
export interface ServiceExit {
  code: number;
  /** The signal that ended it, when one did (SIGKILL for kill -9). */
  signal: Deno.Signal | null;
  /** Everything it printed on stdout (empty when `keepStdout` is off). */
  stdout: string;
}

/** A running task. */
export interface Service {
  name: string;
  pid: number;
  /** Resolves when the process exits. */
  finished: Promise<ServiceExit>;
  /** The first stdout line `parse` accepts. */
  waitForLine<T>(parse: (line: string) => T | undefined, timeoutMs: number, signal: AbortSignal): Promise<T>;
  /** Throws when the process has exited. */
  assertRunning(): void;
  /** SIGTERM, SIGKILL after `graceMs`; resolves with its stdout once it has exited. */
  stop(graceMs?: number): Promise<string>;
}

/** Where a service's output goes. */
export interface ServiceOptions {
  /** Called with each line the task prints. Default: echoed on stdout as `  name │ line`. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Keep stdout for `finished` and `stop`. Default: true; off for long-lived children, whose output never ends. */
  keepStdout?: boolean;
}

/** Starts task `name` with `args`; its lines go to `options.onLine`. */
export function startService(
  name: string,
  args: string[],
  env: Record<string, string>,
  options: ServiceOptions = {},
): Service {
  const child = spawnTask(name, env, args);
  const keepStdout = options.keepStdout ?? true;
  const onLine = options.onLine ?? ((line: string) => console.log(`  ${name.padEnd(9)}│ ${line}`));
  let stdout = "";
  let exited = false;
  const waiters = new Set<(line: string) => void>();
  const streams = Promise.all([
    readLines(child.stdout, (line) => {
      if (keepStdout) stdout += `${line}\n`;
      onLine(line, "stdout");
      for (const waiter of waiters) waiter(line);
    }),
    readLines(child.stderr, (line) => onLine(line, "stderr")),
  ]);
  const finished = (async () => {
    const status = await child.status;
    exited = true;
    await streams;
    return { code: status.code, signal: status.signal, stdout };
  })();

  return {
    name,
    pid: child.pid,
    finished,
    waitForLine<T>(parse: (line: string) => T | undefined, timeoutMs: number, signal: AbortSignal): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const settle = (action: () => void) => {
          clearTimeout(timer);
          waiters.delete(onLine);
          signal.removeEventListener("abort", onAbort);
          action();
        };
        const onLine = (line: string) => {
          const value = parse(line);
          if (value !== undefined) settle(() => resolve(value));
        };
        const onAbort = () => settle(() => reject(signal.reason));
        const timer = setTimeout(
          () => settle(() => reject(new TaskError(`${name} did not start within ${timeoutMs / 1000} s`))),
          timeoutMs,
        );
        waiters.add(onLine);
        signal.addEventListener("abort", onAbort, { once: true });
        for (const line of stdout.split("\n")) onLine(line);
        void finished.then(({ code }) => settle(() => reject(new TaskError(`${name} exited (code ${code})`))));
      });
    },
    assertRunning() {
      if (exited) throw new TaskError(`${name} stopped unexpectedly; see its output above`);
    },
    async stop(graceMs = 30_000) {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }, graceMs);
        await finished;
        clearTimeout(timer);
      }
      return (await finished).stdout;
    },
  };
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (pending) onLine(pending);
}
