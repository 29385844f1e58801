/**
 * The project's own Python virtual environment in `.cache/python-venv`, with the packages pinned in
 * docker/python/requirements.txt. Rebuilt only when that file changes.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TaskError } from "./cli.ts";
import { CACHE_DIR, PROJECT_ROOT } from "./paths.ts";

/** The virtual environment folder. */
export const PYTHON_VENV = join(CACHE_DIR, "python-venv");

/** Its interpreter. */
export const VENV_PYTHON = join(PYTHON_VENV, "bin", "python");

const REQUIREMENTS = join(PROJECT_ROOT, "docker", "python", "requirements.txt");

/** Returns the venv's interpreter, creating the venv and installing the requirements when they changed. */
export async function ensurePythonEnv(log: (line: string) => void = console.log): Promise<string> {
  const wanted = readFileSync(REQUIREMENTS, "utf8");
  const marker = join(PYTHON_VENV, ".requirements");
  if (existsSync(marker) && readFileSync(marker, "utf8") === wanted) return VENV_PYTHON;

  log("Installing the Python packages of docker/python/requirements.txt into .cache/python-venv (once) …");
  await run("python3", ["-m", "venv", "--clear", PYTHON_VENV], "create the Python virtual environment");
  await run(
    VENV_PYTHON,
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS],
    "install the Python packages",
  );
  await Deno.writeTextFile(marker, wanted);
  return VENV_PYTHON;
}

async function run(command: string, args: string[], purpose: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, { args, stdin: "null" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TaskError(`Cannot ${purpose}: ${command} is not on PATH; install Python 3 with venv (python3-venv)`);
    }
    throw error;
  }
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5).join("\n");
    throw new TaskError(`Cannot ${purpose}: ${command} exited with code ${output.code}\n${text}`);
  }
}
