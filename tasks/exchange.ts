/**
 * `deno task exchange`: a local Binance-compatible exchange on 127.0.0.1 for offline demos, tests and benchmarks.
 *
 * Permissions: net to loopback only; env MARKET only (`--market` wins over it); read data/ and tests/testdata/ (so replay files and archive CSVs must live
 * there); serving the trade archive also needs write access to its cache folder (`--archive-cache`, else data/exchange-archive).
 * Prints one `{"event":"listening",…}` JSON line on start and one `{"event":"stopped",…}` report line on exit.
 */
import { runTask, shutdownSignal, TaskError, UsageError } from "./lib/cli.ts";
import { parseExchangeArgs, type ResolvedExchangeOptions, USAGE } from "./lib/exchange/options.ts";
import { type Exchange, startExchange } from "./lib/exchange/server.ts";

async function main(): Promise<number> {
  const args = parseExchangeArgs(Deno.args, { MARKET: Deno.env.get("MARKET") });
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const { options } = args;
  const signal = shutdownSignal();
  const exchange = await start(options);
  const { port, symbols } = exchange;
  const market = options.market === "usdm" ? { market: "usdm" } : {}; // spot's line is as it always was
  console.log(
    JSON.stringify({ event: "listening", host: exchange.hostname, port, symbols, seed: options.seed, ...market }),
  );

  const aborted = new Promise<"signal">((resolve) => signal.addEventListener("abort", () => resolve("signal")));
  const reason = await Promise.race([exchange.done, aborted]);
  await exchange.shutdown();
  console.log(JSON.stringify({ event: "stopped", reason, ...exchange.stats() }));
  return 0;
}

/** Starts the exchange, turning the expected failures (replay file, archive CSVs, busy port) into one line. */
async function start(options: ResolvedExchangeOptions): Promise<Exchange> {
  for (const path of options.archiveCsv) {
    try {
      await Deno.stat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new UsageError(`Cannot use --archive-csv "${path}": no such file`);
      }
      if (error instanceof Deno.errors.NotCapable) {
        throw new UsageError(
          `Cannot use --archive-csv "${path}": the task may only read files under data/ or tests/testdata/`,
        );
      }
      throw error;
    }
  }
  try {
    return await startExchange(options, { log: (line) => console.error(line) });
  } catch (error) {
    const path = JSON.stringify(options.replay?.path);
    if (error instanceof Deno.errors.NotFound) throw new UsageError(`Cannot replay ${path}: no such file`);
    if (error instanceof Deno.errors.NotCapable) {
      throw new UsageError(`Cannot replay ${path}: the task may only read files under data/ or tests/testdata/`);
    }
    if (error instanceof Deno.errors.AddrInUse) {
      const message = `Cannot listen on 127.0.0.1:${options.port}: the port is taken; pick another --port, or 0`;
      throw new TaskError(message, { cause: error });
    }
    throw error;
  }
}

if (import.meta.main) runTask("exchange", main);
