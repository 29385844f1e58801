/**
 * `deno task import`: the exchange's public trade archive (BINANCE_DATA_URL, data.binance.vision) into the lake,
 * exactly once, checked against each file's .CHECKSUM; `--fill-gaps` imports just the days that heal the lake's
 * trade-id gaps. `--market usdm` (or MARKET=usdm) reads the USDⓈ-M futures archive into LAKE_DIR/_usdm.
 *
 * Permissions: net to the archive host and loopback; read and write the lake and the download cache (data/archive);
 * ffi for DuckDB, confined to those two folders.
 */
import process from "node:process";
import { runTask, shutdownSignal, TaskError, UsageError } from "./lib/cli.ts";
import { IMPORT_USAGE, parseImportArgs } from "./lib/lake/archive/import_args.ts";
import { type DayResult, ImportRunningError, runImport } from "./lib/lake/archive/import_run.ts";
import { TerminalProgress } from "./lib/lake/archive/progress.ts";
import { marketLakeDir } from "./lib/market.ts";

async function main(): Promise<number> {
  const today = new Date().toISOString().slice(0, 10);
  const args = parseImportArgs(Deno.args, Deno.env, today);
  if (args.help) {
    console.log(IMPORT_USAGE);
    return 0;
  }
  const startedMs = performance.now();
  let results: DayResult[];
  try {
    results = await runImport({
      market: args.market,
      symbols: args.symbols,
      days: args.days,
      fillGaps: args.fillGaps,
      gapBounds: args.gapBounds,
      force: args.force,
      lakeDir: marketLakeDir(args.lakeDir, args.market),
      cacheDir: args.cacheDir,
      baseUrl: args.baseUrl,
      stallTimeoutMs: args.stallTimeoutMs,
      progress: new TerminalProgress(Deno.stderr.isTerminal()),
      signal: shutdownSignal(),
    });
  } catch (error) {
    if (error instanceof ImportRunningError) throw new UsageError(error.message);
    if (error instanceof Deno.errors.NotCapable) throw error;
    if (error instanceof DOMException && error.name === "AbortError") throw new TaskError("stopped by a signal");
    throw error;
  }
  for (const line of summaryLines(results)) console.log(line);
  const failed = results.filter((day) => day.status === "failed");
  console.log(JSON.stringify({
    event: "import_summary",
    days: results,
    trades: results.reduce((sum, day) => sum + (day.status === "imported" ? day.trades : 0), 0),
    failed: failed.length,
    seconds: Math.round((performance.now() - startedMs) / 10) / 100,
    // The process's high-water mark (getrusage), DuckDB's native memory included.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  }));
  return failed.length > 0 ? 1 : 0;
}

/** One line per symbol and day. */
function summaryLines(results: readonly DayResult[]): string[] {
  if (results.length === 0) return ["import: nothing to import"];
  return results.map((day) => {
    const head = `${day.symbol.padEnd(12)} ${day.day}`;
    switch (day.status) {
      case "imported":
        return `${head}  ${day.trades} trades imported, ${day.alreadyInLake} already in the lake, ` +
          `${day.disagreements} disagreements, ${day.seconds} s`;
      case "already_imported":
        return `${head}  already imported (${day.trades} trades); --force imports it again`;
      case "not_published":
        return `${head}  not published yet, skipped`;
      case "failed":
        return `${head}  FAILED: ${day.message}`;
    }
  });
}

if (import.meta.main) runTask("import", main);
