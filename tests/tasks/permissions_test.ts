/**
 * Least privilege, tested (#7). deno.json gives every task a narrow permission set; these tests read those flags and
 * prove them on real processes: a probe script (tests/helpers/permission_probe.ts, which imports nothing) runs with
 * exactly a task's `deno run` flags and tries what the task must not do. The producer cannot write outside
 * data/producer, the consumer reaches only loopback, refresh has no network at all, each denial being Deno's own
 * NotCapable raised before any file or socket is touched. DuckDB's native code is outside Deno's sandbox, so its
 * connections confine themselves (tasks/lib/duckdb.ts); the last tests prove that confinement holds, also inside the
 * real mart builder.
 */
import { marketProfile } from "../../tasks/lib/market.ts";
import assert from "node:assert/strict";
import { openConfinedDuckDB } from "../../tasks/lib/duckdb.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { refreshMarts } from "../../tasks/lib/warehouse/builder.ts";
import type { ProbeOperation, ProbeResult } from "../helpers/permission_probe.ts";
import { writeLake } from "../helpers/lake.ts";
import { makeTestDir, runDenoTask, taskArgs } from "../helpers/tasks.ts";

const PROBE = "tests/helpers/permission_probe.ts";
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
/** Permission flags that grant everything of their kind when given without a list. */
const BARE = /^(?:--allow-(?:net|read|write|run|env|ffi|sys|import)|-[RWNES])$/;
/**
 * `deno task test` is the one broad entry: the suite starts brokers and the exchange, spawns every task (each with
 * its own narrow flags, through taskArgs), reads fixtures and the lake anywhere under the project, and reads
 * arbitrary environment variables through helpers. It still reaches only loopback and writes only data/.
 */
const BROAD_TASKS = new Set(["test", "test:faults"]); // test:faults is the suite of tests/faults/, with the same flags
const DUCKDB_DENIED = /Permission Error: Cannot access (?:file|directory) ".*" - file system operations are disabled/;

function denoJsonTasks(): Map<string, string> {
  const config = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}/deno.json`));
  return new Map(
    Object.entries(config.tasks as Record<string, string | { command: string }>)
      .map(([name, task]) => [name, typeof task === "string" ? task : task.command]),
  );
}

/** A single `deno run` task's permission flags: flag → its list, or null when given bare. */
function permissionsOf(task: string): Map<string, string[] | null> {
  const flags = new Map<string, string[] | null>();
  for (const arg of taskArgs(task).filter((a) => a.startsWith("-"))) {
    const [flag, list] = arg.split(/=(.*)/s);
    flags.set(flag!, list === undefined ? null : list.split(","));
  }
  return flags;
}

// --- deno.json, read statically ---------------------------------------------------------------------------------

Deno.test(
  "deno.json gives no task -A or a bare permission flag, except the test task",
  { permissions: { read: [PROJECT_ROOT] } },
  () => {
    const offences: string[] = [];
    for (const [name, command] of denoJsonTasks()) {
      // Composite entries (`deno task a && deno task b`) are checked token by token too: they carry no flags.
      for (const token of command.split(/\s+/)) {
        if (token === "-A" || token === "--allow-all" || token.startsWith("--allow-all=")) {
          offences.push(`${name}: ${token}`);
        }
        if (BARE.test(token) && !BROAD_TASKS.has(name)) offences.push(`${name}: bare ${token}`);
      }
    }
    assert.deepEqual(offences, []);
  },
);

Deno.test(
  "deno.json: refresh has no network, the consumer reaches only loopback, the producer writes only data/producer",
  { permissions: { read: [PROJECT_ROOT] } },
  () => {
    const refresh = permissionsOf("refresh");
    assert.equal(refresh.has("--allow-net"), false, "refresh must not have --allow-net");
    assert.equal(refresh.has("--allow-run"), false, "a subprocess would escape the sandbox");
    assert.deepEqual(refresh.get("--allow-write"), ["data/duckdb"]);

    const consumer = permissionsOf("consumer");
    const hosts = consumer.get("--allow-net");
    assert.ok(hosts && hosts.length > 0, "the consumer lists its broker hosts");
    assert.deepEqual(hosts.filter((host) => !LOOPBACK.has(host.replace(/:\d+$/, ""))), []);
    assert.deepEqual(consumer.get("--allow-write"), ["data/parquet"]);
    // Its lake worker thread loads the project's own modules; beyond the lake it reads only Kafka's secrets (the
    // SASL password file and the CA, when KAFKA_SECURITY_PROTOCOL=SASL_SSL).
    assert.deepEqual(consumer.get("--allow-read"), ["data/parquet", "tasks/lib", "data/secrets"]);
    assert.equal(consumer.has("--allow-run"), false);

    const producer = permissionsOf("producer");
    assert.deepEqual(producer.get("--allow-write"), ["data/producer"]);
    // The futures API key file, if any, must live under data/secrets (the producer refuses it elsewhere).
    assert.deepEqual(producer.get("--allow-read"), ["data/producer", "data/secrets"]);
    // Exactly each market's exchange hosts, and loopback (local exchange, brokers, /metrics).
    const exchangeHosts = new Set([...marketProfile("spot").hosts, ...marketProfile("usdm").hosts]);
    const producerHosts = producer.get("--allow-net") ?? [];
    assert.deepEqual(
      producerHosts.filter((host) => !exchangeHosts.has(host) && !LOOPBACK.has(host.replace(/:\d+$/, ""))),
      [],
    );
    for (const host of exchangeHosts) assert.ok(producerHosts.includes(host), `producer may reach ${host}`);
    for (const name of ["MARKET", "BINANCE_API_KEY_FILE", "BINANCE_API_KEY"]) {
      assert.ok(producer.get("--allow-env")?.includes(name), `producer reads ${name}`);
    }
    assert.equal(producer.has("--allow-ffi"), false);
    assert.equal(producer.has("--allow-run"), false);

    // Native code may be loaded from node_modules only (DuckDB's binding), by every task that loads any.
    for (const [name, command] of denoJsonTasks()) {
      if (BROAD_TASKS.has(name) || !command.startsWith("deno run ")) continue;
      const ffi = permissionsOf(name).get("--allow-ffi");
      if (ffi !== undefined) assert.deepEqual(ffi, ["node_modules"], `${name}: --allow-ffi`);
    }
  },
);

// --- the flags, proved on real processes ------------------------------------------------------------------------

/** What a probed operation must do: work, or be refused by Deno for lack of this kind of permission. */
type Expectation = "works" | "denied read" | "denied write" | "denied net" | "denied run" | "denied env";

/** Runs the probe with `task`'s own `deno run` flags (its script swapped for the probe) and checks each outcome. */
async function assertUnderTaskFlags(task: string, cases: [ProbeOperation, Expectation][]): Promise<void> {
  const args = taskArgs(task);
  const flags = args.slice(1, -1);
  assert.ok(args.at(-1)!.endsWith(".ts") && flags.every((flag) => flag.startsWith("--")), args.join(" "));
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, PROBE, JSON.stringify(cases.map(([operation]) => operation))],
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const results: ProbeResult[] = JSON.parse(new TextDecoder().decode(output.stdout));
  cases.forEach(([operation, expected], i) => {
    const result = results[i]!;
    const what = `${task} flags, ${JSON.stringify(operation)}: ${result.error ?? "worked"} ${result.message ?? ""}`;
    if (expected === "works") {
      assert.equal(result.error, undefined, what);
    } else {
      assert.equal(result.error, "NotCapable", what);
      assert.match(result.message!, new RegExp(`^Requires ${expected.slice("denied ".length)} access to `), what);
    }
  });
}

/** A loopback HTTP server for the probes to reach, or be refused. */
function loopbackServer(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
}

Deno.test("producer flags: writing anywhere but data/producer fails with NotCapable", async () => {
  const name = `permissions-probe-${crypto.randomUUID()}`;
  try {
    await assertUnderTaskFlags("producer", [
      [{ op: "write", path: `data/parquet/${name}` }, "denied write"],
      [{ op: "write", path: `data/duckdb/${name}` }, "denied write"],
      [{ op: "write", path: `data/${name}` }, "denied write"],
      [{ op: "write", path: `/tmp/${name}` }, "denied write"],
      [{ op: "write", path: `data/producer/../${name}` }, "denied write"],
      [{ op: "read", path: "deno.json" }, "denied read"],
      [{ op: "fetch", url: "https://example.com/" }, "denied net"],
      [{ op: "run", command: "sh" }, "denied run"],
      [{ op: "env", name: "HOME" }, "denied env"],
      [{ op: "write", path: `data/producer/${name}` }, "works"],
    ]);
    for (const path of [`/tmp/${name}`, `${PROJECT_ROOT}/data/parquet/${name}`, `${PROJECT_ROOT}/data/${name}`]) {
      await assert.rejects(Deno.stat(path), Deno.errors.NotFound, `${path} must not exist`);
    }
  } finally {
    await Deno.remove(`${PROJECT_ROOT}/data/producer/${name}`).catch(() => {});
  }
});

Deno.test("consumer flags: only loopback is reachable; other hosts fail with NotCapable before any connection", async () => {
  await using server = loopbackServer();
  const port = server.addr.port;
  await assertUnderTaskFlags("consumer", [
    [{ op: "fetch", url: "http://example.com/" }, "denied net"],
    [{ op: "connect", hostname: "1.1.1.1", port: 9092 }, "denied net"],
    // Refused by name, before DNS: `.invalid` never resolves, so any other error would mean a lookup was tried.
    [{ op: "connect", hostname: "broker.invalid", port: 9092 }, "denied net"],
    [{ op: "connect", hostname: "127.0.0.2", port }, "denied net"],
    [{ op: "write", path: `/tmp/permissions-probe-${crypto.randomUUID()}` }, "denied write"],
    [{ op: "write", path: `data/duckdb/permissions-probe-${crypto.randomUUID()}` }, "denied write"],
    [{ op: "run", command: "sh" }, "denied run"],
    [{ op: "connect", hostname: "127.0.0.1", port }, "works"],
    [{ op: "connect", hostname: "localhost", port }, "works"],
    [{ op: "fetch", url: `http://127.0.0.1:${port}/` }, "works"],
  ]);
});

Deno.test("refresh flags: every network operation fails with NotCapable, loopback included", async () => {
  await using server = loopbackServer();
  const port = server.addr.port;
  await assertUnderTaskFlags("refresh", [
    [{ op: "fetch", url: "https://example.com/" }, "denied net"],
    [{ op: "fetch", url: `http://127.0.0.1:${port}/` }, "denied net"],
    [{ op: "connect", hostname: "127.0.0.1", port }, "denied net"],
    [{ op: "connect", hostname: "localhost", port }, "denied net"],
    [{ op: "listen", hostname: "127.0.0.1" }, "denied net"],
    // Deno checks a lookup against the nameserver's address; refresh may reach none, so none can be asked.
    [{ op: "dns", name: "example.com" }, "denied net"],
    [{ op: "write", path: `data/parquet/permissions-probe-${crypto.randomUUID()}` }, "denied write"],
    [{ op: "run", command: "sh" }, "denied run"],
  ]);
});

Deno.test("import flags: only the archive host and loopback, and writes only the lake and the download cache", async () => {
  await using server = loopbackServer();
  const port = server.addr.port;
  const name = `permissions-probe-${crypto.randomUUID()}`;
  // On a fresh clone no earlier test has made these folders: a write that works needs its folder.
  for (const dir of ["parquet", "archive"]) await Deno.mkdir(`${PROJECT_ROOT}/data/${dir}`, { recursive: true });
  try {
    await assertUnderTaskFlags("import", [
      [{ op: "fetch", url: "https://example.com/" }, "denied net"],
      [{ op: "connect", hostname: "1.1.1.1", port: 443 }, "denied net"],
      [{ op: "write", path: `data/duckdb/${name}` }, "denied write"],
      [{ op: "write", path: `data/producer/${name}` }, "denied write"],
      [{ op: "write", path: `/tmp/${name}` }, "denied write"],
      [{ op: "read", path: "deno.json" }, "denied read"],
      [{ op: "run", command: "sh" }, "denied run"],
      [{ op: "env", name: "HOME" }, "denied env"],
      [{ op: "fetch", url: `http://127.0.0.1:${port}/` }, "works"],
      [{ op: "write", path: `data/parquet/${name}` }, "works"],
      [{ op: "write", path: `data/archive/${name}` }, "works"],
    ]);
    assert.deepEqual(permissionsOf("import").get("--allow-net"), ["data.binance.vision", "localhost", "127.0.0.1"]);
  } finally {
    for (const dir of ["parquet", "archive"]) await Deno.remove(`${PROJECT_ROOT}/data/${dir}/${name}`).catch(() => {});
  }
});

Deno.test("import task with LAKE_DIR outside its permissions fails in one line, downloading nothing", async () => {
  const outside = `/tmp/permissions-${crypto.randomUUID()}`;
  const result = await runDenoTask(["import", "--symbols", "BTCUSDT", "--from", "2024-08-01"], {
    LAKE_DIR: outside,
    BINANCE_DATA_URL: "http://127.0.0.1:9",
  });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, /^import: Requires (?:read|write) access to "\/tmp\/permissions-[^"]*.*\n$/);
  await assert.rejects(Deno.stat(outside), Deno.errors.NotFound);
});

Deno.test("refresh task with DUCKDB_PATH or LAKE_DIR outside its permissions fails in one line, writing nothing", async () => {
  const outside = `/tmp/permissions-${crypto.randomUUID()}`;
  const dbDir = `data/duckdb/test-${crypto.randomUUID()}`;
  try {
    const toTmp = await runDenoTask(["refresh"], { DUCKDB_PATH: `${outside}/crypto.duckdb` });
    assert.equal(toTmp.code, 2, toTmp.stdout + toTmp.stderr);
    assert.match(
      toTmp.stderr,
      /^refresh: Requires write access to "\/tmp\/permissions-[^"]*", which .* do not grant\n$/,
    );
    await assert.rejects(Deno.stat(outside), Deno.errors.NotFound);

    const fromEtc = await runDenoTask(["refresh"], { LAKE_DIR: "/etc", DUCKDB_PATH: `${dbDir}/crypto.duckdb` });
    assert.equal(fromEtc.code, 2, fromEtc.stdout + fromEtc.stderr);
    assert.match(fromEtc.stderr, /^refresh: Requires read access to "\/etc\/_lake\.lock", which .* do not grant\n$/);
    const left = await Array.fromAsync(Deno.readDir(`${PROJECT_ROOT}/${dbDir}`), (entry) => entry.name);
    assert.deepEqual(left, ["crypto.duckdb.lock"], "only the run lock, no database");
  } finally {
    await Deno.remove(`${PROJECT_ROOT}/${dbDir}`, { recursive: true }).catch(() => {});
  }
});

Deno.test("producer task with PRODUCER_STATE_PATH outside data/producer fails in one line before connecting", async () => {
  const statePath = `/tmp/permissions-${crypto.randomUUID()}.json`;
  // Nothing listens on these: had the producer got past its state file, it would fail differently.
  const nowhere = "127.0.0.1:9";
  const result = await runDenoTask(["producer"], {
    PRODUCER_STATE_PATH: statePath,
    KAFKA_BROKERS: nowhere,
    BINANCE_WS_URL: `ws://${nowhere}`,
    BINANCE_REST_URL: `http://${nowhere}`,
  });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, /^producer: Requires read access to "\/tmp\/permissions-.*\.json", which .*\n$/);
  await assert.rejects(Deno.stat(statePath), Deno.errors.NotFound);
});

// --- DuckDB's own confinement -----------------------------------------------------------------------------------

Deno.test("openConfinedDuckDB() refuses files outside allowedPaths and locks its settings", async () => {
  const dir = await Deno.realPath(await makeTestDir("permissions-duckdb"));
  const allowed = `${dir}/allowed`;
  const sibling = `${dir}/allowed-sibling`; // shares the allowed folder's name as a prefix
  const outside = `/tmp/permissions-${crypto.randomUUID()}`;
  await Deno.mkdir(allowed);
  await Deno.mkdir(sibling);
  await Deno.writeTextFile(`${sibling}/secret.csv`, "a\n1\n");
  // A symlink inside the allowed folder pointing out of it (made with ln: Deno.symlink needs unscoped write).
  assert.equal((await new Deno.Command("ln", { args: ["-s", "/tmp", `${allowed}/tmp-link`] }).output()).code, 0);
  const db = await openConfinedDuckDB(":memory:", { allowedPaths: [`${allowed}/`] });
  try {
    const denied = async (sql: string, reason: RegExp) =>
      await assert.rejects(db.connection.run(sql), (error: Error) => {
        assert.match(error.message, reason, sql);
        return true;
      });
    await denied(`copy (select 1 as a) to '${outside}.csv'`, DUCKDB_DENIED);
    await denied(`copy (select 1 as a) to '${sibling}/x.csv'`, DUCKDB_DENIED);
    await denied(`copy (select 1 as a) to '${allowed}/../allowed-sibling/y.csv'`, DUCKDB_DENIED);
    await denied(`copy (select 1 as a) to '${allowed}/tmp-link/${outside.slice(5)}-link.csv'`, DUCKDB_DENIED);
    await denied(`export database '${outside}-export'`, DUCKDB_DENIED);
    await denied(`attach '${outside}.duckdb' as elsewhere`, DUCKDB_DENIED);
    await denied("select * from read_csv('/etc/passwd')", DUCKDB_DENIED);
    await denied(`select * from read_csv('${sibling}/secret.csv')`, DUCKDB_DENIED);
    await denied("select * from read_csv('http://example.com/x.csv')", DUCKDB_DENIED);
    const locked = /Cannot change configuration option ".*" - the configuration has been locked/;
    await denied("set enable_external_access = true", locked);
    await denied("set allowed_directories = ['/']", locked);
    await denied("reset allowed_directories", locked);
    await denied("set lock_configuration = false", locked);
    await denied(`set temp_directory = '${outside}-spill'`, locked);
    for (const path of [`${outside}.csv`, `${outside}-link.csv`, `${outside}-export`, `${outside}.duckdb`]) {
      await assert.rejects(Deno.stat(path), Deno.errors.NotFound, `${path} must not exist`);
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(sibling), (entry) => entry.name), ["secret.csv"]);

    await db.connection.run(`copy (select 42 as answer) to '${allowed}/inside.csv'`);
    const reader = await db.connection.runAndReadAll(`select answer from read_csv('${allowed}/inside.csv')`);
    assert.deepEqual(reader.getRowObjectsJson(), [{ answer: "42" }]);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refreshMarts() with a model reading outside the lake fails with DuckDB's permission error, publishing nothing", async () => {
  const dir = await Deno.realPath(await makeTestDir("permissions-builder"));
  const settings = {
    lakeDir: `${dir}/lake`,
    duckdbPath: `${dir}/duckdb/crypto.duckdb`,
    modelsDir: `${dir}/models`,
    nowMs: Date.UTC(2025, 2, 1, 12, 0),
  };
  try {
    const t0 = Date.UTC(2025, 2, 1, 10, 0);
    const trades = Array.from({ length: 60 }, (_, i) => ({
      pair: "BTCUSDT",
      id: i + 1,
      price: `${100 + (i % 7)}.25`,
      qty: "0.01000000",
      timeMs: t0 + i * 30_000,
    }));
    await writeLake(settings.lakeDir, trades);
    await writeLake(`${dir}/lake-other`, trades); // a lake next to this one, with the same name as a prefix
    const copied = await new Deno.Command("cp", { args: ["-r", `${PROJECT_ROOT}/models`, settings.modelsDir] })
      .output();
    assert.equal(copied.code, 0);
    const first = await refreshMarts(settings);
    assert.equal(first.status, "built");
    const published = await Deno.readFile(settings.duckdbPath);

    const outsideReads = ["read_csv('/etc/passwd')", `read_parquet('${dir}/lake-other/**/*.parquet')`];
    for (const read of outsideReads) {
      await Deno.writeTextFile(`${settings.modelsDir}/marts/read_outside.sql`, `select * from ${read}\n`);
      await Deno.writeTextFile(
        `${settings.modelsDir}/marts/read_outside.yml`,
        "description: Reads a file outside the lake.\nmaterialized: table\ncolumns: []\n",
      );
      await assert.rejects(refreshMarts(settings), (error: Error) => {
        assert.match(error.message, DUCKDB_DENIED, read);
        return true;
      });
      assert.deepEqual(await Deno.readFile(settings.duckdbPath), published, "the published marts are untouched");
      const left = await Array.fromAsync(Deno.readDir(`${dir}/duckdb`), (entry) => entry.name);
      assert.deepEqual(left.toSorted(), ["crypto.duckdb", "crypto.duckdb.lock"], "no partial build is left");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "every DuckDB database under tasks/ is opened confined: through openConfinedDuckDB or locked by hand",
  { permissions: { read: [PROJECT_ROOT] } },
  async () => {
    const unconfined: string[] = [];
    const walk = async (folder: string): Promise<void> => {
      for await (const entry of Deno.readDir(`${PROJECT_ROOT}/${folder}`)) {
        const path = `${folder}/${entry.name}`;
        if (entry.isDirectory) await walk(path);
        if (!entry.isFile || !path.endsWith(".ts") || path === "tasks/lib/duckdb.ts") continue;
        const source = await Deno.readTextFile(`${PROJECT_ROOT}/${path}`);
        // A database opened directly must switch external access off and lock that before it runs anything else.
        const lockedByHand = /enable_external_access = false/.test(source) && /lock_configuration = true/.test(source);
        if (source.includes("DuckDBInstance.create(") && !lockedByHand) unconfined.push(path);
      }
    };
    await walk("tasks");
    assert.deepEqual(unconfined, []);
  },
);
