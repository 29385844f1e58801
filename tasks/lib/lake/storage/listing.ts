/** Finding the lake's Hive partition folders and their files. */
import { join } from "node:path";
import { DLQ_FOLDER } from "../dlq/dlq_schema.ts";

/** One `pair=…/trade_date=…` folder of the lake. */
export interface DatePartition {
  pair: string;
  tradeDate: string;
  path: string;
}

/** One `pair=…/trade_date=…/hour=…` folder of the lake. */
export interface HourPartition extends DatePartition {
  hour: number;
}

/** Every `pair=…/trade_date=…` folder under `lakeDir` (none when the lake does not exist yet), sorted. */
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

/** Every `pair=…/trade_date=…/hour=HH` folder under `lakeDir`, sorted. */
export async function hourPartitions(lakeDir: string): Promise<HourPartition[]> {
  const found: HourPartition[] = [];
  for (const date of await datePartitions(lakeDir)) {
    for (const hourEntry of (await listDirs(date.path)).sort()) {
      const hour = /^hour=(\d{2})$/.exec(hourEntry)?.[1];
      if (hour !== undefined) found.push({ ...date, hour: Number(hour), path: join(date.path, hourEntry) });
    }
  }
  return found;
}

/** One `_dlq/received_date=…` folder of the lake. */
export interface DlqDatePartition {
  receivedDate: string;
  path: string;
}

/** Every `_dlq/received_date=…` folder under `lakeDir` (none when there is no DLQ file yet), sorted. */
export async function dlqDatePartitions(lakeDir: string): Promise<DlqDatePartition[]> {
  const found: DlqDatePartition[] = [];
  for (const entry of await listDirs(join(lakeDir, DLQ_FOLDER))) {
    const receivedDate = /^received_date=(.+)$/.exec(entry)?.[1];
    if (receivedDate !== undefined) found.push({ receivedDate, path: join(lakeDir, DLQ_FOLDER, entry) });
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/** Every visible DLQ Parquet file under `lakeDir` (hidden temporary files excluded), in path order. */
export async function dlqFiles(lakeDir: string): Promise<string[]> {
  const files: string[] = [];
  for (const date of await dlqDatePartitions(lakeDir)) {
    for (const name of await fileNames(date.path)) {
      if (!name.startsWith(".") && name.endsWith(".parquet")) files.push(join(date.path, name));
    }
  }
  return files;
}

/** The names of the plain files in a folder. */
export async function fileNames(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).filter((e) => e.isFile).map((e) => e.name).sort();
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

/** One visible Parquet file of the lake. */
export interface LakeFile {
  path: string;
  bytes: number;
  modifiedMs: number;
  /** Start of the file's hour partition, ms since the epoch (UTC). */
  hourStartMs: number;
}

/** Every visible Parquet file of the lake (hidden temporary files excluded), in path order. */
export async function lakeFiles(lakeDir: string): Promise<LakeFile[]> {
  const files: LakeFile[] = [];
  for (const hour of await hourPartitions(lakeDir)) {
    const hourStartMs = Date.parse(`${hour.tradeDate}T00:00:00Z`) + hour.hour * 3_600_000;
    if (!Number.isFinite(hourStartMs)) continue;
    for (const name of await fileNames(hour.path)) {
      if (name.startsWith(".") || !name.endsWith(".parquet")) continue;
      const path = join(hour.path, name);
      const info = await Deno.stat(path);
      files.push({ path, bytes: info.size, modifiedMs: info.mtime?.getTime() ?? 0, hourStartMs });
    }
  }
  return files;
}
