/**
 * Debian's Chromium, which the report's browser test drives through playwright-core (`executablePath`; Playwright
 * never downloads a browser here). Installed with apt-get by `deno task setup`, once.
 */
import { existsSync } from "node:fs";
import { TaskError } from "../cli.ts";

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** The packages: the browser, and a font so text in screenshots renders the same everywhere. */
export const CHROMIUM_PACKAGES: readonly string[] = ["chromium", "fonts-dejavu-core"];

/** Flags for headless Chromium on a build machine: no sandbox (root, containers), no GPU, no background traffic. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const INSTALL_COMMAND = `apt-get update && apt-get install -y --no-install-recommends ${CHROMIUM_PACKAGES.join(" ")}`;

/**
 * Returns {@link CHROMIUM_PATH}, installing the packages with apt-get first when it is missing (as root only).
 *
 * @throws {TaskError} when Chromium is missing and cannot be installed, naming the command to run
 */
export async function ensureChromium(log: (line: string) => void = console.log): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (Deno.uid() !== 0) {
    throw new TaskError(
      `Cannot install Chromium for the browser tests without root: run sudo sh -c '${INSTALL_COMMAND}'`,
    );
  }
  log(`Installing ${CHROMIUM_PACKAGES.join(" and ")} with apt-get (once) …`);
  await aptGet(["update", "-qq"]);
  await aptGet(["install", "-y", "-qq", "--no-install-recommends", ...CHROMIUM_PACKAGES]);
  if (!existsSync(CHROMIUM_PATH)) throw new TaskError(`Cannot find ${CHROMIUM_PATH} after: ${INSTALL_COMMAND}`);
  return CHROMIUM_PATH;
}

async function aptGet(args: string[]): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TaskError(
        `Cannot install Chromium: apt-get is not on PATH; install Chromium so ${CHROMIUM_PATH} exists`,
      );
    }
    throw error;
  }
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join("; ");
    throw new TaskError(`Cannot install Chromium: apt-get ${args[0]} exited with code ${output.code}: ${text}`);
  }
}
