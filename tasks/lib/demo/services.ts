/**
 * The demo's child processes: each a project task with its own permissions, its output shown indented under its
 * name, stopped with SIGTERM (then SIGKILL) so nothing outlives the demo.
 */
import { TaskError } from "../cli.ts";
import { spawnTask } from "../processes.ts";

/** A running task. */
export interface Service {
  name: string;
  /** Resolves when the process exits, with its exit code and everything it printed on stdout. */
  finished: Promise<{ code: number; stdout: string }>;
  /** The first stdout line `parse` accepts. */
  waitForLine<T>(parse: (line: string) => T | undefined, timeoutMs: number, signal: AbortSignal): Promise<T>;
  /** Throws when the process has exited. */
  assertRunning(): void;
  /** SIGTERM, SIGKILL after `graceMs`; resolves with its stdout once it has exited. */
  stop(graceMs?: number): Promise<string>;
}

/** Starts task `name` with `args`, its lines echoed as `  name │ line`. */
export function startService(name: string, args: string[], env: Record<string, string>): Service {
  const child = spawnTask(name, env, args);
  let stdout = "";
  let exited = false;
  const waiters = new Set<(line: string) => void>();
  const echo = async (stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) => {
    let pending = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) onLine(line);
    }
    if (pending) onLine(pending);
  };
  const show = (line: string) => console.log(`  ${name.padEnd(9)}│ ${line}`);
  const streams = Promise.all([
    echo(child.stdout, (line) => {
      stdout += `${line}\n`;
      show(line);
      for (const waiter of waiters) waiter(line);
    }),
    echo(child.stderr, show),
  ]);
  const finished = (async () => {
    const status = await child.status;
    exited = true;
    await streams;
    return { code: status.code, stdout };
  })();

  return {
    name,
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
