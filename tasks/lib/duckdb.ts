/**
 * DuckDB connections confined to the folders a task may touch.
 *
 * DuckDB's native code runs outside Deno's sandbox: once `--allow-ffi` is granted it could open any file. So every
 * connection the project opens restricts itself with DuckDB's own settings and locks them, before running anything.
 */
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/** An open DuckDB database and its one connection. */
export interface DuckDB {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  close(): void;
}

/** Where a DuckDB connection may read and write, and how much of the machine it may use. */
export interface DuckDBOptions {
  /** Absolute folders (or files) DuckDB may touch; nothing else is reachable. */
  allowedPaths: string[];
  /** Worker threads. Default: DuckDB's own (one per core). */
  threads?: number;
  /** Settings applied before the configuration is locked, e.g. `{ TimeZone: "UTC" }`. */
  settings?: Record<string, string>;
}

/** Opens `path` (a database file, or ":memory:") with external access limited to `allowedPaths`. */
export async function openConfinedDuckDB(path: string, options: DuckDBOptions): Promise<DuckDB> {
  const config: Record<string, string> = options.threads ? { threads: String(options.threads) } : {};
  const instance = await DuckDBInstance.create(path, config);
  const connection = await instance.connect();
  const allowed = options.allowedPaths.map(sqlString).join(", ");
  const settings = Object.entries(options.settings ?? {}).map(([name, value]) => `set ${name} = ${sqlString(value)};`);
  await connection.run(
    `${settings.join(" ")} set allowed_directories = [${allowed}]; set enable_external_access = false; ` +
      "set lock_configuration = true;",
  );
  return {
    instance,
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** `value` as a SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `paths` as a SQL list of string literals, for `read_parquet([...])`. */
export function sqlStringList(paths: readonly string[]): string {
  return `[${paths.map(sqlString).join(", ")}]`;
}
