/** Runs the project's own `deno task …` commands from tests, exactly as a user would. */
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";

/** What a finished task printed and how it exited. */
export interface TaskResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno task <args>` in the project root with `env` added to the environment. */
export async function runDenoTask(args: string[], env: Record<string, string> = {}): Promise<TaskResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

/** A fresh folder under data/test-tmp, where every task's --allow-write reaches. */
export async function makeTestDir(prefix: string): Promise<string> {
  const root = `${PROJECT_ROOT}/data/test-tmp`;
  await Deno.mkdir(root, { recursive: true });
  return await Deno.makeTempDir({ dir: root, prefix: `${prefix}-` });
}

/**
 * The `deno run …` arguments of a deno.json task, so a test can start the script itself: killing that process
 * kills the script, whereas `kill -9` of a `deno task` wrapper would leave the script running.
 */
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
  return new Deno.Command(Deno.execPath(), {
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
