/**
 * How a refresh replaces the database readers use, without ever showing them a half-built one or waiting for them.
 *
 * A refresh builds into `<DUCKDB_PATH>.building` (a copy of the published file for an incremental run, a new file
 * for a full one), closes it, fsyncs it and renames it over DUCKDB_PATH. Readers that opened the old file read-only
 * keep reading it until they reopen; new readers get the new one. Only one refresh runs at a time: they take
 * `<DUCKDB_PATH>.lock`, and a second one gives up at once.
 */
import { dirname } from "node:path";
import { fsync } from "../lake/storage/durable.ts";

/** Where a refresh works and publishes. */
export interface DatabaseFiles {
  published: string;
  building: string;
  lock: string;
}

export function databaseFiles(duckdbPath: string): DatabaseFiles {
  return { published: duckdbPath, building: `${duckdbPath}.building`, lock: `${duckdbPath}.lock` };
}

/**
 * Takes the single-run lock, or returns undefined when another refresh holds it. Release by closing the file.
 * (Deno's file lock only waits, so waiting briefly stands in for a non-blocking attempt.)
 */
export async function tryLockRefresh(files: DatabaseFiles): Promise<Deno.FsFile | undefined> {
  await Deno.mkdir(dirname(files.lock), { recursive: true });
  const file = await Deno.open(files.lock, { write: true, create: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const acquired = await Promise.race([
    file.lock(true).then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 250))),
  ]);
  clearTimeout(timer);
  if (acquired) return file;
  file.close();
  return undefined;
}

/** Starts the file to build into: a copy of the published database, or nothing for a full build. */
export async function prepareBuild(files: DatabaseFiles, full: boolean): Promise<"copied" | "new"> {
  await discardBuild(files);
  if (!full) {
    try {
      await Deno.copyFile(files.published, files.building);
      return "copied";
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return "new";
}

/** Makes the built database the published one, atomically. */
export async function publishBuild(files: DatabaseFiles): Promise<void> {
  await fsync(files.building);
  await Deno.rename(files.building, files.published);
  await fsync(dirname(files.published));
}

/** Removes a build that will not be published (failed, timed out, or left by a crash). */
export async function discardBuild(files: DatabaseFiles): Promise<void> {
  for (const path of [files.building, `${files.building}.wal`]) {
    await Deno.remove(path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}
