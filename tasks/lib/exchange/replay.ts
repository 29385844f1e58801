/**
 * Replay mode: streams a Binance public-data trades CSV at its own pace (scaled by a speed), with the file's own ids,
 * prices and times. The file is read line by line, so a day of trades (millions of lines) never sits in memory.
 */
import { sleep } from "../sleep.ts";
import { type CsvLineError, isCsvHeader, parseTradeCsvLine } from "./csv.ts";
import type { Trade } from "./market.ts";
import type { ReplayOptions } from "./options.ts";

/** Where replayed trades go, and when to stop or wait. */
export interface ReplayDeps {
  publish(trades: Trade[]): void;
  signal: AbortSignal;
  /** Stop after this many trades. */
  maxTrades: number;
  /** At speed 0, wait while this says a client is far behind: as fast as clients take them, no faster. */
  clientsBehind(): boolean;
  onBadLine(message: string): void;
}

/** Trades published together at full speed, between two yields to the event loop. */
const BATCH_SIZE = 1000;

/**
 * Publishes the file's trades, each when its time comes relative to the first (divided by `speed`; 0 = no waiting),
 * until the end of the file, `maxTrades` or the signal.
 */
export async function replayCsv(replay: ReplayOptions, deps: ReplayDeps): Promise<void> {
  const { path, symbol, speed } = replay;
  const { publish, signal } = deps;
  const startedMs = performance.now();
  let firstUs: number | undefined;
  let published = 0;
  let batch: Trade[] = [];
  const flush = () => {
    publish(batch);
    published += batch.length;
    batch = [];
  };
  const trades = readCsvTrades(path, symbol, ({ line, message }) => {
    deps.onBadLine(`exchange: skipped ${path} line ${line}: ${message}`);
  });
  for await (const trade of trades) {
    if (signal.aborted || published + batch.length >= deps.maxTrades) break;
    firstUs ??= trade.timeUs;
    if (speed > 0) {
      const waitMs = startedMs + (trade.timeUs - firstUs) / 1000 / speed - performance.now();
      if (waitMs > 1) {
        flush();
        await sleep(waitMs, signal);
        if (signal.aborted) break;
      }
    }
    batch.push(trade);
    if (batch.length >= BATCH_SIZE) {
      flush();
      while (deps.clientsBehind() && !signal.aborted) await sleep(5, signal);
      await sleep(0, signal);
    }
  }
  if (!signal.aborted) flush();
}

/**
 * The trades of a Binance public-data CSV at `path`, in file order; unreadable lines go to `onBadLine`.
 *
 * @throws {Deno.errors.NotFound} When the file does not exist (raised before the first trade).
 */
export async function* readCsvTrades(
  path: string,
  symbol: string,
  onBadLine: (error: CsvLineError) => void,
): AsyncGenerator<Trade> {
  const file = await Deno.open(path);
  let lineNumber = 0;
  let rest = "";
  try {
    for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const trade = parseLine(line, ++lineNumber, symbol, onBadLine);
        if (trade) yield trade;
      }
    }
    const trade = parseLine(rest, ++lineNumber, symbol, onBadLine);
    if (trade) yield trade;
  } finally {
    try {
      file.close();
    } catch {
      // already closed by the finished stream
    }
  }
}

function parseLine(
  line: string,
  lineNumber: number,
  symbol: string,
  onBadLine: (error: CsvLineError) => void,
): Trade | undefined {
  if (line.trim() === "" || (lineNumber === 1 && isCsvHeader(line))) return undefined;
  try {
    return parseTradeCsvLine(line, symbol);
  } catch (error) {
    onBadLine({ line: lineNumber, message: (error as Error).message });
    return undefined;
  }
}
