/** Runs the project's own `deno task …` commands from tests, exactly as a user would. */
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
export { collectOutput, spawnTask, taskArgs } from "../../tasks/lib/processes.ts";

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
