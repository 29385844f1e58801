/**
 * Which lake partitions are past retention, and removing them. A partition's age is its trade date (UTC): a day is
 * kept while it is within `days` days of today, so `--days 7` on 2025-01-10 keeps 2025-01-03 and later.
 */
import { join } from "node:path";

/** The trade dates (YYYY-MM-DD) among `dates` that are older than `days` days before `today` (YYYY-MM-DD). */
export function expiredDates(dates: readonly string[], today: string, days: number): string[] {
  const cutoff = new Date(Date.parse(`${today}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
  return dates.filter((date) => /^\d{4}-\d{2}-\d{2}$/.test(date) && date < cutoff);
}

/** One `pair=…/trade_date=…` folder of the lake. */
export interface DatePartition {
  pair: string;
  tradeDate: string;
  path: string;
}

/** Every `pair=…/trade_date=…` folder under `lakeDir` (none when the lake does not exist yet). */
export async function datePartitions(lakeDir: string): Promise<DatePartition[]> {
  const found: DatePartition[] = [];
  for (const pairEntry of await listDirs(lakeDir)) {
    const pair = /^pair=(.+)$/.exec(pairEntry)?.[1];
    if (pair === undefined) continue;
    for (const dateEntry of await listDirs(join(lakeDir, pairEntry))) {
      const tradeDate = /^trade_date=(.+)$/.exec(dateEntry)?.[1];
      if (tradeDate !== undefined) found.push({ pair, tradeDate, path: join(lakeDir, pairEntry, dateEntry) });
    }
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/** Files and bytes under a folder. */
export async function folderSize(path: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for await (const entry of Deno.readDir(path)) {
    const child = join(path, entry.name);
    if (entry.isDirectory) {
      const inner = await folderSize(child);
      files += inner.files;
      bytes += inner.bytes;
    } else if (entry.isFile) {
      files++;
      bytes += (await Deno.stat(child)).size;
    }
  }
  return { files, bytes };
}

async function listDirs(path: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(path))).filter((e) => e.isDirectory).map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}
