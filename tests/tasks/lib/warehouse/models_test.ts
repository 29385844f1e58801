import assert from "node:assert/strict";
import { buildOrder, defineModel, loadModels, referencedModels } from "../../../../tasks/lib/warehouse/models.ts";
import { genericTestSql, materialize } from "../../../../tasks/lib/warehouse/statements.ts";
import { earliestChangedHour, timestampLiteral } from "../../../../tasks/lib/warehouse/changes.ts";
import { PROJECT_ROOT } from "../../../../tasks/lib/paths.ts";

const column = (name: string, tests?: unknown[]) => ({ name, description: `the ${name}`, ...(tests ? { tests } : {}) });

Deno.test("referencedModels() finds schema-qualified models and ignores comments", () => {
  const sql = `-- reads staging.not_this
    with t as (select * from staging.stg_trades) /* marts.nor_this */
    select * from t join MARTS.fct_trades_1m using (pair) join staging.stg_trades using (pair)`;
  assert.deepEqual(referencedModels(sql), ["staging.stg_trades", "marts.fct_trades_1m"]);
});

Deno.test("defineModel() reads materialization, keys and generic tests from the YAML", () => {
  const model = defineModel("marts", "fct_x", "select * from staging.stg_trades;\n", {
    description: "X per minute.",
    materialized: "incremental",
    unique_key: ["pair", "minute_at"],
    incremental_column: "minute_at",
    columns: [
      column("pair", ["not_null", { relationships: { to: "staging.stg_trades", field: "pair" } }]),
      column("minute_at", ["not_null"]),
      column("status", [{ accepted_values: ["ok", "warn"] }]),
    ],
    tests: [{ unique: ["pair", "minute_at"] }],
  });
  assert.equal(model.id, "marts.fct_x");
  assert.equal(model.sql, "select * from staging.stg_trades");
  assert.deepEqual(model.dependsOn, ["staging.stg_trades"]);
  assert.deepEqual(model.tests, [
    { kind: "not_null", column: "pair" },
    { kind: "relationships", column: "pair", to: "staging.stg_trades", field: "pair" },
    { kind: "not_null", column: "minute_at" },
    { kind: "accepted_values", column: "status", values: ["ok", "warn"] },
    { kind: "unique", columns: ["pair", "minute_at"] },
  ]);
});

Deno.test("defineModel() says what is wrong with a model's YAML", () => {
  const define = (config: unknown) => () => defineModel("marts", "m", "select 1", config);
  assert.throws(define(null), /models\/marts\/m.yml: expected a mapping/);
  assert.throws(define({ materialized: "ephemeral", columns: [] }), /materialized is "ephemeral"/);
  assert.throws(define({ materialized: "incremental", columns: [column("a")] }), /needs incremental_column/);
  assert.throws(
    define({ materialized: "incremental", incremental_column: "b", columns: [column("a")] }),
    /incremental_column b is not one of its columns/,
  );
  assert.throws(define({ columns: [column("a", ["positive"])] }), /column a has a test I do not know: "positive"/);
  assert.throws(define({ columns: "a" }), /columns must be a list/);
});

Deno.test("buildOrder() puts every model after what it selects from, and refuses cycles and unknown models", () => {
  const m = (id: string, ...dependsOn: string[]) => ({ id, dependsOn });
  const order = buildOrder([
    m("marts.health", "marts.gaps", "marts.trades"),
    m("marts.gaps", "marts.trades"),
    m("marts.trades", "staging.trades"),
    m("staging.trades", "sources.lake"),
    m("sources.lake"),
  ]).map((model) => model.id);
  assert.deepEqual(order, ["sources.lake", "staging.trades", "marts.trades", "marts.gaps", "marts.health"]);
  assert.throws(() => buildOrder([m("marts.a", "marts.b"), m("marts.b", "marts.a")]), /marts.a → marts.b → marts.a/);
  assert.throws(() => buildOrder([m("marts.a", "staging.nope")]), /selects from staging.nope, which is not a model/);
});

Deno.test("materialize() builds views and tables whole and incremental models from a start point", () => {
  const base = { schema: "marts", name: "m", id: "marts.m", sql: "select 1 as minute_at", description: "" } as const;
  const common = { ...base, columns: [], tests: [], dependsOn: [] };
  assert.deepEqual(materialize({ ...common, materialized: "view" }, { kind: "full" }), [
    "create or replace view marts.m as\nselect 1 as minute_at",
  ]);
  const incremental = { ...common, materialized: "incremental" as const, incrementalColumn: "minute_at" };
  // Stored in the order of the incremental column, so a later rebuild finds the recent rows in the last row groups.
  assert.deepEqual(materialize(incremental, { kind: "full" }), [
    "create or replace table marts.m as\nselect * from (\nselect 1 as minute_at\n) as model\norder by minute_at",
  ]);
  const since = { kind: "incremental", since: "2025-03-01 10:55:00", columnType: "TIMESTAMP" } as const;
  assert.deepEqual(materialize(incremental, since), [
    "delete from marts.m where minute_at >= cast(timestamp '2025-03-01 10:55:00' as TIMESTAMP)",
    "insert into marts.m by name\nselect * from (\nselect 1 as minute_at\n) as model " +
    "where minute_at >= cast(timestamp '2025-03-01 10:55:00' as TIMESTAMP)\norder by minute_at",
  ]);
  assert.deepEqual(materialize({ ...common, materialized: "external" }, { kind: "full" }), [
    "create table if not exists marts.m as\nselect 1 as minute_at",
  ]);
  assert.throws(() => materialize(incremental, { ...since, since: "yesterday'; drop" }), RangeError);
});

Deno.test("genericTestSql() selects the rows that break each generic test", () => {
  const model = defineModel("marts", "m", "select 1", { columns: [column("pair")] });
  assert.equal(genericTestSql(model, { kind: "not_null", column: "pair" }), "select * from marts.m where pair is null");
  assert.match(
    genericTestSql(model, { kind: "unique", columns: ["pair", "minute_at"] }),
    /group by pair, minute_at having count\(\*\) > 1$/,
  );
  assert.match(
    genericTestSql(model, { kind: "accepted_values", column: "status", values: ["ok", "it's"] }),
    /where status not in \('ok', 'it''s'\)/,
  );
  assert.match(
    genericTestSql(model, { kind: "relationships", column: "pair", to: "staging.s", field: "pair" }),
    /not exists \(select 1 from staging.s as parent where parent.pair = child.pair\)/,
  );
});

Deno.test("earliestChangedHour() finds the earliest hour with a new, changed or removed file", () => {
  const file = (path: string, hourStartMs: number, bytes = 10, modifiedMs = 1) => ({
    path,
    bytes,
    modifiedMs,
    hourStartMs,
  });
  const seen = [file("a", 1000), file("b", 2000), file("c", 3000)];
  assert.equal(earliestChangedHour(seen, seen), undefined);
  assert.equal(earliestChangedHour(seen, [...seen, file("d", 2500)]), 2500);
  assert.equal(earliestChangedHour(seen, [file("a", 1000), file("b", 2000, 11), file("c", 3000)]), 2000);
  assert.equal(earliestChangedHour(seen, [file("b", 2000), file("c", 3000)]), 1000, "a removed file counts");
  assert.equal(earliestChangedHour([], [file("c", 3000)]), 3000);
  assert.equal(timestampLiteral(Date.UTC(2025, 2, 1, 10, 55)), "2025-03-01 10:55:00");
});

Deno.test("loadModels() reads the project's models in an order that builds", {
  // The yaml package looks at two debugging variables.
  permissions: { read: [PROJECT_ROOT], env: ["LOG_TOKENS", "LOG_STREAM"] },
}, async () => {
  const { models, singularTests } = await loadModels(`${PROJECT_ROOT}/models`);
  const ids = models.map((model) => model.id);
  for (const id of ["sources.lake_trades", "staging.stg_trades", "marts.fct_candles_1m", "marts.fct_orderflow_1m"]) {
    assert.ok(ids.includes(id), `${id} in ${ids}`);
  }
  for (const [index, model] of models.entries()) {
    for (const dependency of model.dependsOn) {
      assert.ok(ids.indexOf(dependency) < index, `${dependency} before ${model.id}`);
    }
    assert.ok(model.description.length > 0, `${model.id} has a description`);
  }
  assert.ok(singularTests.length >= 3);
});
