/**
 * The lake's reader/compactor lock: `_lake.lock` at the top of the lake, an advisory file lock (flock).
 *
 * Adding a file never needs it: a reader sees a committed file or not, never half of one (temporary name, then
 * rename). Replacing files does: compaction swaps many small files for one merged file, which is not one atomic
 * step on a file system. Compaction makes that swap while holding the lock exclusively; readers that hold it shared
 * while they read (the mart builder, the tests) therefore see every row exactly once, before or after the swap.
 * Other engines (pyarrow, the DuckDB CLI) may read without it: they can catch the swap mid-way for the few
 * microseconds it takes, and would then see a row twice or a file gone.
 *
 * The `_` prefix keeps the file out of `*.parquet` globs and out of pyarrow's dataset discovery.
 */
import { join } from "node:path";

export const LAKE_LOCK_FILE = "_lake.lock";

/** Creates the lock file if it is missing (writers of the lake call this, so readers always find one). */
export async function ensureLakeLockFile(lakeDir: string): Promise<void> {
  const file = await Deno.open(join(lakeDir, LAKE_LOCK_FILE), { write: true, create: true });
  file.close();
}

/**
 * Runs `work` while holding the lake lock: `shared` for readers, `exclusive` for compaction and retention.
 * A shared lock on a lake that has no lock file yet is a no-op (nothing has written the lake, so nothing replaces
 * files either), which lets readers run with read permission only.
 */
export async function withLakeLock<T>(
  lakeDir: string,
  mode: "shared" | "exclusive",
  work: () => Promise<T>,
): Promise<T> {
  const path = join(lakeDir, LAKE_LOCK_FILE);
  let file: Deno.FsFile;
  try {
    file = mode === "shared"
      ? await Deno.open(path, { read: true })
      : await Deno.open(path, { write: true, create: true });
  } catch (error) {
    if (mode === "shared" && error instanceof Deno.errors.NotFound) return await work();
    throw error;
  }
  try {
    await file.lock(mode === "exclusive");
    return await work();
  } finally {
    file.close(); // closing the file releases the lock
  }
}
