/**
 * The models folder as data: each `models/<schema>/<name>.sql` with its same-named `.yml`, and the order to build
 * them in, derived from the models themselves (a model depends on every `sources.x`, `staging.x`, `intermediate.x`
 * or `marts.x` its SQL names), never from a hand-kept list.
 */
import { join } from "node:path";
import { parse as parseYaml } from "yaml";

export const SCHEMAS = ["sources", "staging", "intermediate", "marts"] as const;
export type Schema = typeof SCHEMAS[number];
/**
 * `view` and `table` are rebuilt every run, `incremental` from the earliest changed hour; `external` is a table
 * another task maintains (e.g. the kline reconciliation): created empty from its SQL when missing, never rebuilt,
 * kept across full rebuilds.
 */
export type Materialization = "view" | "table" | "incremental" | "external";

/** A generic data test, from a model's YAML. */
export type GenericTest =
  | { kind: "not_null"; column: string }
  | { kind: "unique"; columns: string[] }
  | { kind: "accepted_values"; column: string; values: (string | number | boolean)[] }
  | { kind: "relationships"; column: string; to: string; field: string };

/** One column's documentation. */
export interface ColumnDoc {
  name: string;
  description: string;
}

/** One model: where it lives, what it selects and how it is built. */
export interface Model {
  /** `schema.name`, as other models refer to it. */
  id: string;
  schema: Schema;
  name: string;
  sql: string;
  description: string;
  materialized: Materialization;
  /** Incremental only: rows whose value here is at or after the run's start point are rebuilt. */
  incrementalColumn?: string;
  uniqueKey?: string[];
  columns: ColumnDoc[];
  tests: GenericTest[];
  /** Ids of the models this one selects from. */
  dependsOn: string[];
}

/** A singular test: SQL returning the rows that break an invariant. */
export interface SingularTest {
  name: string;
  sql: string;
  dependsOn: string[];
}

/** The model set is not buildable (bad YAML, unknown reference, a cycle). */
export class ModelError extends Error {
  override name = "ModelError";
}

const REFERENCE = /\b(sources|staging|intermediate|marts)\.([a-z_][a-z0-9_]*)\b/gi;

/** The models `sql` selects from, in order of first mention, comments ignored. */
export function referencedModels(sql: string): string[] {
  const code = sql.replace(/--[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "");
  const found = new Set<string>();
  for (const match of code.matchAll(REFERENCE)) found.add(`${match[1]!.toLowerCase()}.${match[2]!.toLowerCase()}`);
  return [...found];
}

/**
 * A model from its file location, SQL and parsed YAML.
 * @throws {ModelError} when the YAML is not a valid model configuration
 */
export function defineModel(schema: Schema, name: string, sql: string, config: unknown): Model {
  const id = `${schema}.${name}`;
  const fail = (what: string): never => {
    throw new ModelError(`Cannot use models/${schema}/${name}.yml: ${what}`);
  };
  if (!isRecord(config)) return fail("expected a mapping with description, materialized and columns");
  const materialized = config.materialized ?? "view";
  if (!["view", "table", "incremental", "external"].includes(materialized as string)) {
    return fail(`materialized is ${JSON.stringify(materialized)}; expected view, table, incremental or external`);
  }
  const columns: ColumnDoc[] = [];
  const tests: GenericTest[] = [];
  if (!Array.isArray(config.columns)) return fail("columns must be a list");
  for (const column of config.columns) {
    if (!isRecord(column) || typeof column.name !== "string") return fail("each column needs a name");
    if (typeof column.description === "string") columns.push({ name: column.name, description: column.description });
    for (const test of asList(column.tests)) tests.push(columnTest(column.name, test, fail));
  }
  for (const test of asList(config.tests)) tests.push(modelTest(test, fail));
  const uniqueKey = config.unique_key === undefined ? undefined : stringList(config.unique_key, "unique_key", fail);
  const incrementalColumn = config.incremental_column;
  if (materialized === "incremental") {
    if (typeof incrementalColumn !== "string") return fail("an incremental model needs incremental_column");
    if (!columns.some((c) => c.name === incrementalColumn)) {
      return fail(`incremental_column ${incrementalColumn} is not one of its columns`);
    }
  }
  const dependsOn = referencedModels(sql).filter((ref) => ref !== id);
  return {
    id,
    schema,
    name,
    sql: sql.trim().replace(/;\s*$/, ""),
    description: typeof config.description === "string" ? config.description.trim() : "",
    materialized: materialized as Materialization,
    ...(materialized === "incremental" ? { incrementalColumn: incrementalColumn as string } : {}),
    ...(uniqueKey ? { uniqueKey } : {}),
    columns,
    tests,
    dependsOn,
  };
}

/**
 * `models` in an order where each comes after everything it depends on (ties broken by schema, then name).
 * @throws {ModelError} on a reference to a model that does not exist, or a cycle
 */
export function buildOrder<T extends { id: string; dependsOn: string[] }>(models: readonly T[]): T[] {
  const byId = new Map(models.map((model) => [model.id, model]));
  for (const model of models) {
    const missing = model.dependsOn.find((ref) => !byId.has(ref));
    if (missing) throw new ModelError(`Cannot build ${model.id}: it selects from ${missing}, which is not a model`);
  }
  const rank = (id: string) => `${SCHEMAS.indexOf(id.split(".")[0] as Schema)}:${id}`;
  const ordered: T[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (model: T, path: string[]) => {
    if (state.get(model.id) === "done") return;
    if (state.get(model.id) === "visiting") {
      throw new ModelError(`Cannot order the models: ${[...path, model.id].join(" → ")} is a cycle`);
    }
    state.set(model.id, "visiting");
    for (const ref of model.dependsOn.toSorted((a, b) => rank(a).localeCompare(rank(b)))) {
      visit(byId.get(ref)!, [...path, model.id]);
    }
    state.set(model.id, "done");
    ordered.push(model);
  };
  for (const model of models.toSorted((a, b) => rank(a.id).localeCompare(rank(b.id)))) visit(model, []);
  return ordered;
}

/** The models of `dir` and its singular tests (`tests/*.sql`), in build order. */
export async function loadModels(dir: string): Promise<{ models: Model[]; singularTests: SingularTest[] }> {
  const models: Model[] = [];
  for (const schema of SCHEMAS) {
    for (const file of await sqlFiles(join(dir, schema))) {
      const name = file.slice(0, -".sql".length);
      const sql = await Deno.readTextFile(join(dir, schema, file));
      const yamlPath = join(dir, schema, `${name}.yml`);
      let config: unknown;
      try {
        config = parseYaml(await Deno.readTextFile(yamlPath));
      } catch (error) {
        const reason = error instanceof Deno.errors.NotFound ? "it is missing" : (error as Error).message;
        throw new ModelError(`Cannot read models/${schema}/${name}.yml: ${reason}`);
      }
      models.push(defineModel(schema, name, sql, config));
    }
  }
  const singularTests: SingularTest[] = [];
  for (const file of await sqlFiles(join(dir, "tests"))) {
    const sql = (await Deno.readTextFile(join(dir, "tests", file))).trim().replace(/;\s*$/, "");
    singularTests.push({ name: file.slice(0, -".sql".length), sql, dependsOn: referencedModels(sql) });
  }
  const ordered = buildOrder(models);
  const ids = new Set(models.map((m) => m.id));
  for (const test of singularTests) {
    const missing = test.dependsOn.find((ref) => !ids.has(ref));
    if (missing) throw new ModelError(`Cannot run test ${test.name}: it selects from ${missing}, which is not a model`);
  }
  return { models: ordered, singularTests };
}

function columnTest(column: string, test: unknown, fail: (what: string) => never): GenericTest {
  if (test === "not_null") return { kind: "not_null", column };
  if (test === "unique") return { kind: "unique", columns: [column] };
  if (isRecord(test) && Array.isArray(test.accepted_values)) {
    return { kind: "accepted_values", column, values: test.accepted_values as (string | number | boolean)[] };
  }
  if (isRecord(test) && isRecord(test.relationships)) {
    const { to, field } = test.relationships;
    if (typeof to === "string" && typeof field === "string") return { kind: "relationships", column, to, field };
  }
  return fail(`column ${column} has a test I do not know: ${JSON.stringify(test)}`);
}

function modelTest(test: unknown, fail: (what: string) => never): GenericTest {
  if (isRecord(test) && test.unique !== undefined) {
    return { kind: "unique", columns: stringList(test.unique, "unique", fail) };
  }
  return fail(`a model test I do not know: ${JSON.stringify(test)}`);
}

function stringList(value: unknown, what: string, fail: (what: string) => never): string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === "string")) {
    return fail(`${what} must be a column name or a list of them`);
  }
  return list;
}

function asList(value: unknown): unknown[] {
  return value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function sqlFiles(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir)))
      .filter((entry) => entry.isFile && entry.name.endsWith(".sql"))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}
