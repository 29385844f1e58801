/** DuckDB for tests that read a lake or a marts database back: one query on a fresh, closed-after connection. */
import { DuckDBInstance } from "@duckdb/node-api";

/**
 * Runs `sql` on `database` (default: in memory; a file is opened read-only) and returns its rows as JSON-safe
 * objects (BIGINT and DECIMAL as strings, as `getRowObjectsJson` gives them).
 */
export async function queryRows(sql: string, database = ":memory:"): Promise<Record<string, unknown>[]> {
  const options: Record<string, string> = database === ":memory:" ? {} : { access_mode: "READ_ONLY" };
  const instance = await DuckDBInstance.create(database, options);
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Rows of the Parquet files `glob` matches, or 0 while it matches none. */
export async function countParquetRows(glob: string): Promise<number> {
  try {
    const [row] = await queryRows(`select count(*) as n from read_parquet('${glob}', union_by_name = true)`);
    return Number(row!.n);
  } catch {
    return 0; // no files yet
  }
}
