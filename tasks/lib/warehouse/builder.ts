/**
 * The mart builder's run, top to bottom: take the single-run lock; see what changed in the lake; build every model
 * in dependency order into a private copy of the database (views always, tables in full, incremental models from
 * the earliest changed hour); run the data tests; record what was seen; publish the copy atomically.
 *
 * The lake is read under the shared lake lock, so compaction never swaps files under a build.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { type DuckDB, openConfinedDuckDB, sqlString, sqlStringList } from "../duckdb.ts";
import { withLakeLock } from "../lake/storage/lake_lock.ts";
import { dlqFiles, type LakeFile, lakeFiles } from "../lake/storage/listing.ts";
import { type LakeFileIds, LakeFileIdsCache, singleCopyFiles } from "./single_copy.ts";
import { DLQ_FOLDER, emptyDlqSelect } from "../lake/dlq/dlq_schema.ts";
import { type Market, marketLakeDir, MARKETS } from "../market.ts";
import { type AlertChanges, updateAlerts } from "./alerts.ts";
import { earliestChangedHour, type SeenFile, timestampLiteral } from "./changes.ts";
import { loadModels, type Model, type SingularTest } from "./models.ts";
import { databaseFiles, discardBuild, prepareBuild, publishBuild, tryLockRefresh } from "./publish.ts";
import { type BuildMode, genericTestName, genericTestSql, materialize, rebuiltRows } from "./statements.ts";

/** Everything a refresh needs. Paths are absolute. */
export interface RefreshSettings {
  lakeDir: string;
  duckdbPath: string;
  modelsDir: string;
  /** Rebuild every model from scratch instead of from the earliest changed hour. */
  full?: boolean;
  /** Run the data tests after building. Default: true. */
  runTests?: boolean;
  /** Incremental models are rebuilt from this long before the earliest changed hour. Default: 5. */
  lookbackMinutes?: number;
  /** Give up (nothing published) after this long. */
  timeoutMs?: number;
  /** DuckDB variables the models read with getvariable(), e.g. health thresholds. */
  variables?: Record<string, number | string>;
  nowMs?: number;
  log?: (line: string) => void;
}

/** How one model was built. */
export interface ModelRun {
  id: string;
  /** Incremental models: the DuckDB type of the incremental column. */
  incrementalColumnType?: string;
  materialized: Model["materialized"];
  /** `full`, `incremental`, `view`, `kept` (external), or `up to date` when nothing it reads changed. */
  how: "full" | "incremental" | "view" | "kept" | "up to date";
  rows: number;
  seconds: number;
}

/** How one data test went. */
export interface TestRun {
  name: string;
  failingRows: number;
  /** Up to five failing rows. */
  sample: Record<string, unknown>[];
  seconds: number;
}

/** What a refresh did. */
export type RefreshResult =
  | { status: "locked" }
  | { status: "empty"; lakeDir: string }
  | {
    status: "built";
    mode: "full" | "incremental";
    /** Where incremental models were rebuilt from (UTC), or undefined when the lake had not changed. */
    rebuiltFrom?: string;
    lakeFiles: number;
    /** Of the files staging read, those whose trades went through de-duplication (see single_copy.ts). */
    lakeFilesDeduplicated: number;
    models: ModelRun[];
    tests: TestRun[];
    /** What the refresh did to marts.alerts (when the project's models define it). */
    alerts?: AlertChanges;
    seconds: number;
    /** Where the time went: copying the database, building, testing, recording and closing, publishing. */
    phaseSeconds: { prepare: number; models: number; tests: number; close: number; publish: number };
    published: string;
  };

/** The refresh ran past its time limit; nothing was published. */
export class RefreshTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Gave up after ${timeoutMs / 1000} s (--timeout); nothing was published, the previous marts stay`);
    this.name = "RefreshTimeoutError";
  }
}

/** Runs one refresh. */
export async function refreshMarts(settings: RefreshSettings): Promise<RefreshResult> {
  const files = databaseFiles(settings.duckdbPath);
  const lock = await tryLockRefresh(files);
  if (!lock) return { status: "locked" };
  try {
    const { models, singularTests } = await loadModels(settings.modelsDir);
    return await withLakeLock(settings.lakeDir, "shared", async () => {
      // DuckDB is confined to the real path, so the files are listed under it too.
      const lakeRoot = await Deno.realPath(settings.lakeDir).catch(() => undefined);
      // Each market's dataset has the same layout under its own folder (spot: the root); a lake without futures
      // files lists one folder that does not exist, nothing more.
      const lake = lakeRoot === undefined ? [] : await everyMarket(lakeRoot, lakeFiles);
      if (lakeRoot === undefined || lake.length === 0) return { status: "empty", lakeDir: settings.lakeDir };
      const dlq = await everyMarket(lakeRoot, dlqFiles);
      return await buildAndPublish(settings, models, singularTests, lakeRoot, lake, dlq);
    });
  } finally {
    lock.close();
  }
}

async function buildAndPublish(
  settings: RefreshSettings,
  models: Model[],
  singularTests: SingularTest[],
  lakeRoot: string,
  lake: LakeFile[],
  dlq: string[],
): Promise<RefreshResult> {
  const started = performance.now();
  const log = settings.log ?? (() => {});
  const files = databaseFiles(settings.duckdbPath);
  const start = await prepareBuild(files, settings.full ?? false);
  const phaseSeconds = { prepare: 0, models: 0, tests: 0, close: 0, publish: 0 };
  let phaseStarted = performance.now();
  const endPhase = (phase: keyof typeof phaseSeconds) => {
    phaseSeconds[phase] = seconds(phaseStarted);
    phaseStarted = performance.now();
  };
  const dbDir = await Deno.realPath(dirname(settings.duckdbPath));
  let db: DuckDB | undefined = await openConfinedDuckDB(files.building, {
    allowedPaths: [`${lakeRoot}/`, `${dbDir}/`],
    settings: { TimeZone: "UTC" },
  });
  let timedOut = false;
  const timer = settings.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    db?.connection.interrupt();
  }, settings.timeoutMs);
  let published = false;
  try {
    const connection = db.connection;
    await prepareSchemas(connection);
    if (start === "new") await carryOverExternalTables(connection, files.published, models);
    const nowMs = settings.nowMs ?? Date.now();
    const seen = await readSeenFiles(connection);
    const fileIds = new LakeFileIdsCache(seen, lake);
    const full = start === "new";
    const changedHour = earliestChangedHour(seen, lake);
    const rebuiltFrom = changedHour === undefined
      ? undefined
      : timestampLiteral(changedHour - (settings.lookbackMinutes ?? 5) * 60_000);
    await setVariables(connection, settings.variables ?? {}, timestampLiteral(nowMs));
    // The DLQ models are tables rebuilt every run, so they read every DLQ file; read_parquet fails on a glob that
    // matches nothing, hence the empty file when the lake has none.
    const emptyDlq = dlq.length > 0 ? "" : await writeEmptyDlqFile(connection, emptyDlqDir(files.building));
    await connection.run(`set variable dlq_files = ${sqlStringList(dlqFilesToRead(lakeRoot, dlq, emptyDlq))}`);
    // The sources tell a file's market by the folder it lies in.
    await connection.run(`set variable usdm_lake_dir = ${sqlString(marketLakeDir(lakeRoot, "usdm"))}`);

    endPhase("prepare");
    const lakeSource = (since?: string) => lakeFilesToRead(lakeRoot, lake, since);
    let lakeFilesDeduplicated = 0;
    const singleCopies = async (since?: string) => {
      const read = lakeFilesFrom(lake, since).map((file) => file.path);
      const single = singleCopyFiles(await fileIds.of(connection, read));
      lakeFilesDeduplicated = read.length - single.length;
      return single;
    };
    const runs = await buildModels(connection, models, full, rebuiltFrom, lakeSource, singleCopies, log);
    endPhase("models");
    // When every incremental model was rebuilt from the same point, the tests need only look at the rows from
    // there on: the others passed before and have not changed. Otherwise (a full build) they look at everything.
    const scoped = !full && runs.every((run) => run.materialized !== "incremental" || run.how !== "full");
    const scope = scoped ? { since: rebuiltFrom ?? timestampLiteral(nowMs), types: incrementalTypes(runs) } : undefined;
    const tests = settings.runTests === false ? [] : await runTests(connection, models, singularTests, scope, log);
    const hasAlerts = ["marts.alerts", "marts.fct_alert_conditions"].every((id) => models.some((m) => m.id === id));
    const alerts = hasAlerts ? await updateAlerts(connection, timestampLiteral(nowMs)) : undefined;
    endPhase("tests");
    await recordRun(connection, lake, fileIds, models, {
      startedAt: timestampLiteral(nowMs),
      mode: full ? "full" : "incremental",
      rebuiltFrom,
      testsFailed: tests.filter((t) => t.failingRows > 0).length,
      testsPassed: tests.filter((t) => t.failingRows === 0).length,
    });
    db.close();
    db = undefined;
    endPhase("close");
    await publishBuild(files);
    published = true;
    endPhase("publish");
    return {
      status: "built",
      mode: full ? "full" : "incremental",
      ...(rebuiltFrom === undefined || full ? {} : { rebuiltFrom }),
      lakeFiles: lake.length,
      lakeFilesDeduplicated,
      models: runs,
      tests,
      ...(alerts ? { alerts } : {}),
      seconds: (performance.now() - started) / 1000,
      phaseSeconds,
      published: settings.duckdbPath,
    };
  } catch (error) {
    if (timedOut) throw new RefreshTimeoutError(settings.timeoutMs!);
    throw error;
  } finally {
    clearTimeout(timer);
    db?.close();
    await Deno.remove(emptyDlqDir(files.building), { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    if (!published) await discardBuild(files);
  }
}

/** What {@link updatePublishedDatabase} did. */
export type UpdateResult<T> = { status: "locked" } | { status: "missing" } | { status: "updated"; value: T };

/**
 * Lets another task change the published database the way a refresh does: under the single-run lock, on a private
 * copy that is published atomically once `work` succeeds (and discarded if it throws). "missing" when no refresh
 * has built the database yet.
 */
export async function updatePublishedDatabase<T>(
  duckdbPath: string,
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<UpdateResult<T>> {
  const files = databaseFiles(duckdbPath);
  const lock = await tryLockRefresh(files);
  if (!lock) return { status: "locked" };
  try {
    if (await prepareBuild(files, false) === "new") return { status: "missing" };
    const dbDir = await Deno.realPath(dirname(duckdbPath));
    let db: DuckDB | undefined = await openConfinedDuckDB(files.building, {
      allowedPaths: [`${dbDir}/`],
      settings: { TimeZone: "UTC" },
    });
    let published = false;
    try {
      const value = await work(db.connection);
      db.close();
      db = undefined;
      await publishBuild(files);
      published = true;
      return { status: "updated", value };
    } finally {
      db?.close();
      if (!published) await discardBuild(files);
    }
  } finally {
    lock.close();
  }
}

async function prepareSchemas(connection: DuckDBConnection): Promise<void> {
  await connection.run(`
    create schema if not exists sources;
    create schema if not exists staging;
    create schema if not exists intermediate;
    create schema if not exists marts;
    create schema if not exists meta;
    create table if not exists meta.lake_files (
      path varchar, bytes bigint, modified_ms bigint, hour_start_ms bigint);
    alter table meta.lake_files add column if not exists min_trade_id bigint;
    alter table meta.lake_files add column if not exists max_trade_id bigint;
    alter table meta.lake_files add column if not exists unique_trade_ids boolean;
    create table if not exists meta.models (id varchar, sql_hash varchar, built_at timestamp);
    create table if not exists meta.refresh_runs (
      started_at timestamp, finished_at timestamp, mode varchar, rebuilt_from timestamp,
      tests_passed integer, tests_failed integer, lake_files integer);`);
}

/** A full build starts a new file: bring along the tables other tasks maintain (external models). */
async function carryOverExternalTables(connection: DuckDBConnection, published: string, models: Model[]) {
  const external = models.filter((model) => model.materialized === "external");
  if (external.length === 0 || !(await exists(published))) return;
  await connection.run(`attach ${sqlString(published)} as previous (read_only)`);
  try {
    for (const model of external) {
      const found = await readRows<{ n: number }>(
        connection,
        `select count(*)::integer as n from duckdb_tables() where database_name = 'previous' ` +
          `and schema_name = ${sqlString(model.schema)} and table_name = ${sqlString(model.name)}`,
      );
      if (found[0]!.n > 0) await connection.run(`create table ${model.id} as select * from previous.${model.id}`);
    }
  } finally {
    await connection.run("detach previous");
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function setVariables(
  connection: DuckDBConnection,
  variables: Record<string, number | string>,
  nowAt: string,
): Promise<void> {
  const statements = Object.entries(variables).map(([name, value]) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new RangeError(`Cannot set variable ${name}: expected snake_case`);
    return `set variable ${name} = ${typeof value === "number" ? String(value) : sqlString(value)};`;
  });
  await connection.run(`${statements.join("\n")}\nset variable now_at = timestamp '${nowAt}';`);
}

async function buildModels(
  connection: DuckDBConnection,
  models: Model[],
  full: boolean,
  rebuiltFrom: string | undefined,
  lakeSource: (since?: string) => string[],
  singleCopies: (since?: string) => Promise<string[]>,
  log: (line: string) => void,
): Promise<ModelRun[]> {
  const builtHashes = new Map(
    (await readRows<{ id: string; hash: string }>(connection, "select id, sql_hash as hash from meta.models"))
      .map((row) => [row.id, row.hash]),
  );
  // Models rebuilt from scratch this run: whatever reads them incrementally must be rebuilt from scratch too.
  const rebuiltWhole = new Set<string>();
  let lakeVariablesSet = false;
  let lakeVariablesSince: string | undefined;
  const runs: ModelRun[] = [];
  for (const model of models) {
    const started = performance.now();
    const exists = await tableExists(connection, model);
    const changed = builtHashes.get(model.id) !== sqlHash(model.sql);
    let how: ModelRun["how"];
    let mode: BuildMode = { kind: "full" };
    const incrementalColumnType = model.materialized === "incremental" && exists
      ? await columnType(connection, model)
      : undefined;
    if (model.materialized === "view") {
      how = "view";
    } else if (model.materialized === "external") {
      how = "kept";
      if (exists) await addNewExternalColumns(connection, model);
    } else if (model.materialized === "table") {
      how = "full";
    } else if (full || !exists || changed || model.dependsOn.some((id) => rebuiltWhole.has(id))) {
      how = "full";
    } else if (rebuiltFrom === undefined) {
      how = "up to date";
    } else {
      how = "incremental";
      mode = {
        kind: "incremental",
        since: rebuildStart(rebuiltFrom, incrementalColumnType!),
        columnType: incrementalColumnType!,
      };
    }
    if (changed || (model.materialized === "incremental" && how === "full")) rebuiltWhole.add(model.id);
    if (how !== "up to date") {
      // Models read only what an incremental build rebuilds (see rebuild_from in the models); all of it otherwise.
      const since = mode.kind === "incremental" ? mode.since : undefined;
      await setRebuildFrom(connection, since);
      if (!lakeVariablesSet || since !== lakeVariablesSince) {
        // A live hour lists thousands of files: set them again only when the start point changes.
        await connection.run(`set variable lake_files = ${sqlStringList(lakeSource(since))}`);
        await connection.run(`set variable single_copy_files = ${sqlStringList(await singleCopies(since))}::varchar[]`);
        lakeVariablesSet = true;
        lakeVariablesSince = since;
      }
      for (const statement of materialize(model, mode)) await connection.run(statement);
    }
    const rows = model.materialized === "view" ? 0 : await countRows(connection, model.id);
    const run: ModelRun = { id: model.id, materialized: model.materialized, how, rows, seconds: seconds(started) };
    if (model.materialized === "incremental") {
      run.incrementalColumnType = incrementalColumnType ?? await columnType(connection, model);
    }
    runs.push(run);
    log(`  ${model.id.padEnd(36)} ${how.padEnd(12)} ${String(rows).padStart(10)} rows ${run.seconds.toFixed(2)} s`);
  }
  return runs;
}

/**
 * Where an incremental model is rebuilt from: `rebuiltFrom`, or for a model keyed by a DATE the start of its day. A
 * day is then rebuilt whole from rows (and lake files, see {@link lakeFilesFrom}) of every hour of it, which a model
 * reading the lake per day (fct_archive_reconciliation) needs; those reading per-minute rows get the same rows.
 */
export function rebuildStart(rebuiltFrom: string, columnType: string): string {
  return columnType === "DATE" ? `${rebuiltFrom.slice(0, 10)} 00:00:00` : rebuiltFrom;
}

/** `list(dir)` over every market's dataset under `lakeRoot`, spot's first. */
async function everyMarket<T>(lakeRoot: string, list: (dir: string) => Promise<T[]>): Promise<T[]> {
  const found: T[] = [];
  for (const market of MARKETS) found.push(...await list(marketLakeDir(lakeRoot, market)));
  return found;
}

/** The market whose dataset under `lakeRoot` holds `path`. */
export function marketOfPath(lakeRoot: string, path: string): Market {
  return MARKETS.find((market) => market !== "spot" && path.startsWith(`${marketLakeDir(lakeRoot, market)}/`)) ??
    "spot";
}

/** The markets with at least one of `paths` under `lakeRoot`, in MARKETS order. */
function marketsOf(lakeRoot: string, paths: readonly string[]): Market[] {
  const found = new Set(paths.map((path) => marketOfPath(lakeRoot, path)));
  return MARKETS.filter((market) => found.has(market));
}

/**
 * The lake files a build reads (`lake_files` in sources.lake_trades): the whole lake as one glob per market that has
 * files (read_parquet fails on a glob that matches nothing, and most lakes have no futures dataset) for a full build;
 * for an incremental one only the files of the hours it rebuilds, so DuckDB does not open every file's footer.
 */
export function lakeFilesToRead(lakeRoot: string, lake: readonly LakeFile[], since?: string): string[] {
  const everything = marketsOf(lakeRoot, lake.map((file) => file.path))
    .map((market) => `${marketLakeDir(lakeRoot, market)}/pair=*/trade_date=*/hour=*/*.parquet`);
  if (since === undefined) return everything;
  const files = lakeFilesFrom(lake, since).map((file) => file.path);
  return files.length > 0 ? files : everything;
}

/** The lake files of the hours a build from `since` reads: all of them when undefined. */
export function lakeFilesFrom(lake: readonly LakeFile[], since?: string): readonly LakeFile[] {
  if (since === undefined) return lake;
  const fromHourMs = Math.floor(Date.parse(`${since.replace(" ", "T")}Z`) / 3_600_000) * 3_600_000;
  return lake.filter((file) => file.hourStartMs >= fromHourMs);
}

/**
 * The DLQ files a build reads (`dlq_files` in sources.lake_dlq_events): every `_dlq` file of each market's dataset
 * that has one as one glob, or, when the lake has none, `emptyFile` (no rows, the same columns), since read_parquet
 * fails on a glob that matches nothing.
 */
export function dlqFilesToRead(lakeRoot: string, dlq: readonly string[], emptyFile: string): string[] {
  if (dlq.length === 0) return [emptyFile];
  return marketsOf(lakeRoot, dlq)
    .map((market) => `${marketLakeDir(lakeRoot, market)}/${DLQ_FOLDER}/received_date=*/*.parquet`);
}

/**
 * What a column an external model gained holds in the rows kept from before it existed. Those rows were written by
 * a pipeline that knew spot only.
 */
const EXTERNAL_COLUMN_BACKFILL: Record<string, string> = { market: "'spot'" };

/**
 * Adds the columns an external model's SQL names that its kept table lacks (its rows are another task's, so it is
 * never rebuilt), filled as {@link EXTERNAL_COLUMN_BACKFILL} says, else null.
 */
async function addNewExternalColumns(connection: DuckDBConnection, model: Model): Promise<void> {
  const wanted = await readRows<{ name: string; type: string }>(
    connection,
    `select column_name as name, column_type as type from (describe ${model.sql.trim().replace(/;$/, "")})`,
  );
  const present = new Set(
    (await readRows<{ name: string }>(
      connection,
      `select column_name as name from information_schema.columns ` +
        `where table_schema = ${sqlString(model.schema)} and table_name = ${sqlString(model.name)}`,
    )).map((row) => row.name),
  );
  for (const column of wanted.filter((c) => !present.has(c.name))) {
    if (!/^[a-z_][a-z0-9_]*$/.test(column.name)) throw new RangeError(`Cannot add column ${column.name}`);
    const fill = EXTERNAL_COLUMN_BACKFILL[column.name];
    await connection.run(
      `alter table ${model.id} add column ${column.name} ${column.type}${fill === undefined ? "" : ` default ${fill}`}`,
    );
    // the default filled the kept rows; rows written from now on name the column themselves
    if (fill !== undefined) await connection.run(`alter table ${model.id} alter column ${column.name} drop default`);
  }
}

/** Where a build keeps its empty DLQ file: beside its private copy of the database, removed when the build ends. */
function emptyDlqDir(building: string): string {
  return `${building}.empty_dlq`;
}

/**
 * Writes a Parquet file with the DLQ files' columns and no rows into `dir` (in the database's folder, the only place
 * a refresh may write), under a `received_date=` folder like the real ones, so the source keeps the same columns.
 */
async function writeEmptyDlqFile(connection: DuckDBConnection, dir: string): Promise<string> {
  const folder = join(dir, "received_date=1970-01-01");
  await Deno.mkdir(folder, { recursive: true });
  const path = join(folder, "empty.parquet");
  await connection.run(`copy (${emptyDlqSelect()}) to ${sqlString(path)} (format parquet)`);
  return path;
}

/** Rows from `since` on, for the incremental models' column types. */
interface TestScope {
  since: string;
  types: Map<string, string>;
}

function incrementalTypes(runs: ModelRun[]): Map<string, string> {
  return new Map(runs.flatMap((run) => run.incrementalColumnType ? [[run.id, run.incrementalColumnType]] : []));
}

async function setRebuildFrom(connection: DuckDBConnection, since: string | undefined): Promise<void> {
  await connection.run(
    since === undefined ? "set variable rebuild_from = null" : `set variable rebuild_from = timestamp '${since}'`,
  );
}

async function runTests(
  connection: DuckDBConnection,
  models: Model[],
  singularTests: SingularTest[],
  scope: TestScope | undefined,
  log: (line: string) => void,
): Promise<TestRun[]> {
  await setRebuildFrom(connection, scope?.since);
  const relation = (model: Model) => {
    const columnType = scope?.types.get(model.id);
    if (!scope || !columnType) return model.id;
    return `(select * from ${model.id} where ${
      rebuiltRows(model, { kind: "incremental", since: scope.since, columnType })
    })`;
  };
  const cases = [
    ...models.flatMap((model) =>
      model.tests.map((test) => ({
        name: genericTestName(model, test),
        sql: genericTestSql(model, test, relation(model)),
      }))
    ),
    ...singularTests.map((test) => ({ name: test.name, sql: test.sql })),
  ];
  const runs: TestRun[] = [];
  for (const testCase of cases) {
    const started = performance.now();
    const failingRows = await countRows(connection, `(${testCase.sql})`);
    const sample = failingRows === 0 ? [] : await readRows<Record<string, unknown>>(
      connection,
      `select * from (${testCase.sql}) limit 5`,
    );
    runs.push({ name: testCase.name, failingRows, sample, seconds: seconds(started) });
    if (failingRows > 0) log(`  FAIL ${testCase.name}: ${failingRows} failing rows`);
  }
  return runs;
}

/** The lake files the last refresh saw, with what it knew of their trade ids. */
async function readSeenFiles(connection: DuckDBConnection): Promise<(SeenFile & { ids?: LakeFileIds })[]> {
  const rows = await readRows<Record<string, string | boolean | null>>(
    connection,
    "select path, bytes, modified_ms, hour_start_ms, min_trade_id::double as min_trade_id, " +
      "max_trade_id::double as max_trade_id, unique_trade_ids from meta.lake_files",
  );
  return rows.map((row) => {
    const path = String(row.path);
    const file = {
      path,
      bytes: Number(row.bytes),
      modifiedMs: Number(row.modified_ms),
      hourStartMs: Number(row.hour_start_ms),
    };
    if (row.unique_trade_ids === null) return file;
    const ids: LakeFileIds = {
      path,
      uniqueIds: row.unique_trade_ids === true,
      ...(row.min_trade_id === null ? {} : { minTradeId: Number(row.min_trade_id) }),
      ...(row.max_trade_id === null ? {} : { maxTradeId: Number(row.max_trade_id) }),
    };
    return { ...file, ids };
  });
}

async function recordRun(
  connection: DuckDBConnection,
  lake: LakeFile[],
  fileIds: LakeFileIdsCache,
  models: Model[],
  run: { startedAt: string; mode: string; rebuiltFrom?: string; testsPassed: number; testsFailed: number },
): Promise<void> {
  await connection.run("delete from meta.lake_files");
  const appender = await connection.createAppender("lake_files", "meta");
  for (const file of lake) {
    appender.appendVarchar(file.path);
    appender.appendBigInt(BigInt(file.bytes));
    appender.appendBigInt(BigInt(file.modifiedMs));
    appender.appendBigInt(BigInt(file.hourStartMs));
    const ids = fileIds.get(file.path);
    if (ids?.minTradeId === undefined) appender.appendNull();
    else appender.appendBigInt(BigInt(ids.minTradeId));
    if (ids?.maxTradeId === undefined) appender.appendNull();
    else appender.appendBigInt(BigInt(ids.maxTradeId));
    if (ids === undefined) appender.appendNull();
    else appender.appendBoolean(ids.uniqueIds);
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
  await connection.run("delete from meta.models");
  if (models.length > 0) {
    const rows = models.map((m) => `(${sqlString(m.id)}, '${sqlHash(m.sql)}', now()::timestamp)`);
    await connection.run(`insert into meta.models values ${rows.join(", ")}`);
  }
  const rebuiltFrom = run.rebuiltFrom === undefined ? "null" : `timestamp '${run.rebuiltFrom}'`;
  await connection.run(
    `insert into meta.refresh_runs values (timestamp '${run.startedAt}', now()::timestamp, '${run.mode}', ` +
      `${rebuiltFrom}, ${run.testsPassed}, ${run.testsFailed}, ${lake.length})`,
  );
}

async function tableExists(connection: DuckDBConnection, model: Model): Promise<boolean> {
  const rows = await readRows<{ n: number }>(
    connection,
    `select count(*)::integer as n from information_schema.tables ` +
      `where table_schema = ${sqlString(model.schema)} and table_name = ${sqlString(model.name)}`,
  );
  return rows[0]!.n > 0;
}

async function columnType(connection: DuckDBConnection, model: Model): Promise<string> {
  const rows = await readRows<{ type: string }>(
    connection,
    `select data_type as type from information_schema.columns where table_schema = ${sqlString(model.schema)} ` +
      `and table_name = ${sqlString(model.name)} and column_name = ${sqlString(model.incrementalColumn!)}`,
  );
  if (!rows[0]) throw new Error(`Cannot rebuild ${model.id} incrementally: it has no ${model.incrementalColumn}`);
  return rows[0].type;
}

async function countRows(connection: DuckDBConnection, relation: string): Promise<number> {
  const rows = await readRows<{ n: number }>(connection, `select count(*)::bigint as n from ${relation}`);
  return Number(rows[0]!.n);
}

async function readRows<T>(connection: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJson() as T[];
}

function sqlHash(sql: string): string {
  return createHash("sha256").update(sql).digest("hex").slice(0, 16);
}

function seconds(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}
