/**
 * The edge of every task: runs its main function and turns expected failures into one line and an exit code.
 *
 * - {@link ConfigError}, {@link UsageError} and {@link AccessError}: the user must fix the input, exit code 2.
 * - A permission denial (`Deno.errors.NotCapable`, e.g. LAKE_DIR=/etc): a setting points outside what the task's
 *   deno.json permissions grant, exit code 2.
 * - {@link TaskError}: the job could not be done (broker down, Maven failed), exit code 1.
 * - Anything else is a bug: the stack trace is printed, exit code 1.
 */
import { ConfigError } from "./config.ts";
import { redact } from "./secrets.ts";

/** Bad command-line input. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Credentials or permissions the user must fix (a refused login, an untrusted certificate, a missing ACL): retrying
 * would fail the same way, so it exits as bad input does (code 2), and the supervisor stops instead of restarting.
 */
export class AccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AccessError";
  }
}

/** An expected failure of the job itself, explained in one line. */
export class TaskError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TaskError";
  }
}

/** Parses a whole-number flag value within [min, max], or throws a one-line {@link UsageError}. */
export function wholeNumberFlag(flag: string, raw: string, min: number, max: number): number {
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw new UsageError(`Cannot use --${flag} "${raw}": expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Exit code for input the user must fix. */
export const EXIT_USAGE = 2;

/** Runs `main` and exits with its code (0 when it returns nothing). */
export async function runTask(name: string, main: () => Promise<number | void>): Promise<never> {
  try {
    Deno.exit((await main()) ?? 0);
  } catch (error) {
    if (
      error instanceof ConfigError || error instanceof UsageError || error instanceof AccessError ||
      isParseArgsError(error)
    ) {
      console.error(`${name}: ${redact(error.message)}`);
      Deno.exit(EXIT_USAGE);
    }
    if (error instanceof Deno.errors.NotCapable) {
      // Deno's advice ("run again with the --allow-write flag") does not apply to a task: its flags are in deno.json.
      const denied = error.message.replace(/, run again with .*$/s, "");
      console.error(`${name}: ${denied}, which this task's permissions in deno.json do not grant`);
      Deno.exit(EXIT_USAGE);
    }
    if (error instanceof TaskError) {
      const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
      console.error(redact(`${name}: ${error.message}${cause}`));
      Deno.exit(1);
    }
    console.error(redact(`${name}: unexpected failure ${Deno.inspect(error)}`));
    Deno.exit(1);
  }
}

/** node:util parseArgs rejects unknown flags and missing values with these codes: input to fix, not a bug. */
function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error && String((error as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
}

/** Resolves when SIGINT or SIGTERM arrives; the returned signal aborts at that moment. */
export function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return controller.signal;
}
