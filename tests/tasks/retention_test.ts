import assert from "node:assert/strict";
import { expiredDates } from "../../tasks/lib/lake/maintenance/retention.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { runDenoTask } from "../helpers/tasks.ts";

Deno.test("expiredDates() keeps the last N days and ignores folders that are not dates", () => {
  const dates = ["2025-01-02", "2025-01-03", "2025-01-09", "2025-01-10", "junk"];
  assert.deepEqual(expiredDates(dates, "2025-01-10", 7), ["2025-01-02"]);
  assert.deepEqual(expiredDates(dates, "2025-01-10", 1), ["2025-01-02", "2025-01-03"]);
});

Deno.test("retention task lists with --dry-run, then removes only trade and DLQ partitions past retention", async () => {
  const lakeDir = `data/parquet/test-${crypto.randomUUID()}`;
  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  const old = `${PROJECT_ROOT}/${lakeDir}/pair=BTCUSDT/trade_date=${day(40)}/hour=01`;
  const recent = `${PROJECT_ROOT}/${lakeDir}/pair=BTCUSDT/trade_date=${day(2)}/hour=01`;
  const oldDlq = `${PROJECT_ROOT}/${lakeDir}/_dlq/received_date=${day(40)}`;
  const recentDlq = `${PROJECT_ROOT}/${lakeDir}/_dlq/received_date=${day(2)}`;
  try {
    for (const dir of [old, recent]) {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/part-0-00000000000000000000.parquet`, "x");
    }
    for (const dir of [oldDlq, recentDlq]) {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/dlq-0-00000000000000000000.parquet`, "xy");
    }
    const dry = await runDenoTask(["retention", "--days", "30", "--dry-run"], { LAKE_DIR: lakeDir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would remove .*trade_date=${day(40)} \\(1 files, 1 bytes\\)`));
    assert.match(dry.stdout, new RegExp(`would remove .*_dlq/received_date=${day(40)} \\(1 files, 2 bytes\\)`));
    assert.ok(await exists(old) && await exists(oldDlq), "a dry run removes nothing");

    const real = await runDenoTask(["retention", "--days", "30"], { LAKE_DIR: lakeDir });
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /retention: removed 2 files/);
    assert.ok(!await exists(old) && !await exists(oldDlq));
    assert.ok(await exists(recent) && await exists(recentDlq));

    const bad = await runDenoTask(["retention", "--days", "soon"], { LAKE_DIR: lakeDir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^retention: Cannot keep --days "soon": expected a whole number of days above 0/);
  } finally {
    await Deno.remove(`${PROJECT_ROOT}/${lakeDir}`, { recursive: true }).catch(() => {});
  }
});

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
