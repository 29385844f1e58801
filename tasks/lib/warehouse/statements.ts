/**
 * The SQL the mart builder runs: materializations and generic data tests, generated from a model. Pure.
 *
 * An incremental model is rebuilt from a start point: rows whose incremental column is at or after it are deleted
 * and selected again from the model, whose filter DuckDB pushes down to the scan (and, for the lake, to the folder
 * names), so only the recent part of the data is read.
 */
import type { GenericTest, Model } from "./models.ts";

/** How a model is built in this run. */
export type BuildMode =
  | { kind: "full" }
  /** Rows from `since` (UTC, `YYYY-MM-DD HH:MM:SS`) on; `columnType` is the incremental column's DuckDB type. */
  | { kind: "incremental"; since: string; columnType: string };

/** The statements that build `model`. */
export function materialize(model: Model, mode: BuildMode): string[] {
  if (model.materialized === "view") return [`create or replace view ${model.id} as\n${model.sql}`];
  if (model.materialized === "external") return [`create table if not exists ${model.id} as\n${model.sql}`];
  if (model.materialized === "table") return [`create or replace table ${model.id} as\n${model.sql}`];
  // Incremental tables are stored in the order of their incremental column, so that rebuilding the recent rows
  // finds them in the last row groups (DuckDB skips the others by their min/max) and rewrites only those.
  const ordered = `select * from (\n${model.sql}\n) as model`;
  if (mode.kind === "full") {
    return [`create or replace table ${model.id} as\n${ordered}\norder by ${model.incrementalColumn}`];
  }
  const from = rebuiltRows(model, mode);
  return [
    `delete from ${model.id} where ${from}`,
    `insert into ${model.id} by name\n${ordered} where ${from}\norder by ${model.incrementalColumn}`,
  ];
}

/** The condition selecting the rows an incremental build rebuilds. */
export function rebuiltRows(model: Model, mode: Extract<BuildMode, { kind: "incremental" }>): string {
  return `${model.incrementalColumn} >= cast(timestamp '${checkedTimestamp(mode.since)}' as ${mode.columnType})`;
}

/**
 * A generic test as SQL returning the failing rows (none: the test passes). `relation` replaces the model's table,
 * e.g. with only the rows an incremental run rebuilt.
 */
export function genericTestSql(model: Model, test: GenericTest, relation: string = model.id): string {
  switch (test.kind) {
    case "not_null":
      return `select * from ${relation} where ${test.column} is null`;
    case "unique": {
      const columns = test.columns.join(", ");
      return `select ${columns}, count(*) as occurrences from ${relation} group by ${columns} having count(*) > 1`;
    }
    case "accepted_values": {
      const values = test.values.map(sqlValue).join(", ");
      return `select ${test.column}, count(*) as occurrences from ${relation} ` +
        `where ${test.column} not in (${values}) group by ${test.column}`;
    }
    case "relationships":
      return `select child.${test.column}, count(*) as occurrences from ${relation} as child ` +
        `where child.${test.column} is not null and not exists ` +
        `(select 1 from ${test.to} as parent where parent.${test.field} = child.${test.column}) ` +
        `group by child.${test.column}`;
  }
}

/** A short name for a generic test, as the run summary prints it. */
export function genericTestName(model: Model, test: GenericTest): string {
  switch (test.kind) {
    case "not_null":
      return `not_null(${model.name}.${test.column})`;
    case "unique":
      return `unique(${model.name}.${test.columns.join(", ")})`;
    case "accepted_values":
      return `accepted_values(${model.name}.${test.column})`;
    case "relationships":
      return `relationships(${model.name}.${test.column} → ${test.to}.${test.field})`;
  }
}

function sqlValue(value: string | number | boolean): string {
  return typeof value === "string" ? `'${value.replaceAll("'", "''")}'` : String(value);
}

function checkedTimestamp(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)) {
    throw new RangeError(`Cannot rebuild from "${value}": expected YYYY-MM-DD HH:MM:SS`);
  }
  return value;
}
