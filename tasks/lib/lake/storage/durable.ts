/** Making lake files durable before anyone relies on them. */
import type { DuckDBConnection } from "@duckdb/node-api";
import { dirname, join } from "node:path";
import { sqlString } from "../../duckdb.ts";

/** Flushes a file's or a folder's data and metadata to disk. */
export async function fsync(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

/** A fully written, fsynced file waiting under its temporary name to be published as `final`. */
export interface WrittenFile {
  temporary: string;
  final: string;
}

/**
 * Makes a written and fsynced file visible: if `mayPublish()` still says yes, rename it into place and fsync the
 * folder; when it says no, remove it and return false. The question and the rename happen in the same turn of the
 * event loop, so an ownership change announced on this thread cannot slip between them.
 */
export async function publishSynced(file: WrittenFile, mayPublish: () => boolean): Promise<boolean> {
  if (!mayPublish()) {
    await Deno.remove(file.temporary);
    return false;
  }
  await Deno.rename(file.temporary, file.final);
  await fsync(dirname(file.final));
  return true;
}

/**
 * Writes the rows of `query` as the zstd Parquet file `name` in `dir` (created if missing) under a temporary name,
 * fsynced, for {@link publishSynced}. `extraOptions` are more `COPY` options, e.g. key-value metadata.
 */
export async function writeTemporaryParquetFile(
  connection: DuckDBConnection,
  query: string,
  dir: string,
  name: string,
  extraOptions: readonly string[] = [],
): Promise<WrittenFile> {
  await Deno.mkdir(dir, { recursive: true });
  const temporary = join(dir, `.${name}.tmp`);
  const options = ["format parquet", "compression zstd", ...extraOptions].join(", ");
  await connection.run(`copy (${query}) to ${sqlString(temporary)} (${options})`);
  await fsync(temporary);
  return { temporary, final: join(dir, name) };
}

/**
 * Writes the rows of `query` as the zstd Parquet file `name` in `dir` and publishes it (see
 * {@link writeTemporaryParquetFile} and {@link publishSynced}). Returns the file's path, or undefined when
 * `mayPublish()` said no.
 */
export async function writeParquetFile(
  connection: DuckDBConnection,
  query: string,
  dir: string,
  name: string,
  mayPublish: () => boolean,
  extraOptions: readonly string[] = [],
): Promise<string | undefined> {
  const file = await writeTemporaryParquetFile(connection, query, dir, name, extraOptions);
  return await publishSynced(file, mayPublish) ? file.final : undefined;
}
