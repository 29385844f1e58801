/** Making lake files durable before anyone relies on them. */
import type { DuckDBConnection } from "@duckdb/node-api";
import { dirname, join } from "node:path";
import { sqlString } from "../duckdb.ts";

/** Flushes a file's or a folder's data and metadata to disk. */
export async function fsync(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Makes a fully written `temporary` file visible as `final`: fsync it, then, if `mayPublish()` still says yes, rename
 * it into place and fsync the folder. When it says no, the temporary file is removed and false returned.
 */
export async function publishFile(temporary: string, final: string, mayPublish: () => boolean): Promise<boolean> {
  await fsync(temporary);
  if (!mayPublish()) {
    await Deno.remove(temporary);
    return false;
  }
  await Deno.rename(temporary, final);
  await fsync(dirname(final));
  return true;
}

/**
 * Writes the rows of `query` as the zstd Parquet file `name` in `dir` (created if missing) through a temporary name,
 * then publishes it with {@link publishFile}. Returns the file's path, or undefined when `mayPublish()` said no.
 * `extraOptions` are more `COPY` options, e.g. key-value metadata.
 */
export async function writeParquetFile(
  connection: DuckDBConnection,
  query: string,
  dir: string,
  name: string,
  mayPublish: () => boolean,
  extraOptions: readonly string[] = [],
): Promise<string | undefined> {
  await Deno.mkdir(dir, { recursive: true });
  const temporary = join(dir, `.${name}.tmp`);
  const options = ["format parquet", "compression zstd", ...extraOptions].join(", ");
  await connection.run(`copy (${query}) to ${sqlString(temporary)} (${options})`);
  const final = join(dir, name);
  return await publishFile(temporary, final, mayPublish) ? final : undefined;
}
