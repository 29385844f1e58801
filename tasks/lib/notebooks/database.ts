/**
 * The notebooks' only way into the marts: the published database opened READ-ONLY, with DuckDB's external access
 * switched off and locked, so a notebook can neither change the marts nor read other files through DuckDB. A missing
 * or empty database is not an error but {@link NoData}, which the notebooks show as a friendly message.
 */
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import { type NoData, noData } from "./no_data.ts";

export { isNoData, type NoData, noData } from "./no_data.ts";

/** Read-only queries over the marts; every value comes back as a plain number, string or null. */
export interface Marts {
  /** Runs `sql` with named `$parameters` and returns its rows as objects. */
  rows<T = Record<string, number | string | null>>(sql: string, values?: Record<string, DuckDBValue>): Promise<T[]>;
  /** Whether `schema.table` exists. */
  hasTable(schema: string, table: string): Promise<boolean>;
}

/**
 * Opens the database at `duckdbPath` read-only, checks it holds trades, runs `read` and closes it. Returns
 * {@link NoData} when the file is missing, has no marts yet, or `marts.fct_trades_1m` is empty.
 */
export async function withMarts<T>(
  duckdbPath: string,
  read: (marts: Marts) => Promise<T | NoData>,
): Promise<T | NoData> {
  try {
    await Deno.stat(duckdbPath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return noData(`There is no marts database at \`${duckdbPath}\` (DUCKDB_PATH).`);
  }
  const instance = await DuckDBInstance.create(duckdbPath, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    await connection.run("set enable_external_access = false; set lock_configuration = true;");
    const marts = martsOf(connection);
    if (!(await marts.hasTable("marts", "fct_trades_1m"))) {
      return noData(
        `The database \`${duckdbPath}\` has no marts yet: \`deno task refresh\` builds them from the lake.`,
      );
    }
    const [count] = await marts.rows<{ trades: number }>("select count(*)::double as trades from marts.fct_trades_1m");
    if (!count?.trades) return noData(`The marts in \`${duckdbPath}\` hold no trades yet.`);
    return await read(marts);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function martsOf(connection: DuckDBConnection): Marts {
  return {
    async rows<T>(sql: string, values?: Record<string, DuckDBValue>): Promise<T[]> {
      const reader = await connection.runAndReadAll(sql, values);
      return reader.getRowObjectsJS() as T[];
    },
    async hasTable(schema: string, table: string): Promise<boolean> {
      const reader = await connection.runAndReadAll(
        "select count(*)::integer as n from duckdb_tables() where schema_name = $schema and table_name = $table",
        { schema, table },
      );
      return (reader.getRowObjectsJS()[0]?.n ?? 0) !== 0;
    },
  };
}

/** A SQL expression turning the TIMESTAMP column `column` into ms since the epoch (DOUBLE, exact to the µs). */
export function epochMs(column: string): string {
  return `(epoch_us(${column})::double / 1000)`;
}
