/**
 * Starting the project's own task scripts as child processes, for benchmarks, the demo and tests.
 *
 * A script is started directly with the permission flags its deno.json task declares, so killing the child
 * kills the script itself (a `deno task` wrapper would survive as an orphan-maker under kill -9).
 */
import { PROJECT_ROOT } from "./paths.ts";
/** The `deno run …` arguments of a deno.json task (everything after `deno`). */
export function taskArgs(name: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}/deno.json`));
  const task = config.tasks[name];
  const command: string = typeof task === "string" ? task : task.command;
  const [deno, ...args] = command.split(/\s+/);
  if (deno !== "deno" || args[0] !== "run" || command.includes("&&")) {
    throw new Error(`Cannot run task ${name} directly: "${command}" is not a single deno run`);
  }
  return args;
}

/** A task's script started directly, with its own permission flags, in the project root. */
export function spawnTask(name: string, env: Record<string, string>, extraArgs: string[] = []): Deno.ChildProcess {
  return new Deno.Command("deno", {
    args: [...taskArgs(name), ...extraArgs],
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Collects a child's stdout and stderr as text while it runs. */
export function collectOutput(child: Deno.ChildProcess): { text: () => string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => {});
  return { text: () => text, done };
}
