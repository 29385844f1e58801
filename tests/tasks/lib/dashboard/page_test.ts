/** The dashboard page: the report with a freshness bar, stale past the threshold, and the script that reloads it. */
import assert from "node:assert/strict";
import { dashboardPage, formatAge, freshness } from "../../../../tasks/lib/dashboard/page.ts";

const NOW = Date.parse("2025-03-02T00:30:00Z");
const info = (ageS: number) => ({
  page: "report-20250302T003000Z.html",
  builtAtMs: NOW,
  martsRefreshedAtMs: NOW - ageS * 1000,
});

Deno.test("freshness() says when the marts were refreshed, and turns stale past the threshold", () => {
  assert.deepEqual(freshness(info(120), NOW, 900), {
    stale: false,
    text: "marts refreshed at 2025-03-02 00:28 UTC, 2 min ago",
  });
  const stale = freshness(info(1800), NOW, 900);
  assert.equal(stale.stale, true);
  assert.match(
    stale.text,
    /^STALE: marts refreshed at 2025-03-02 00:00 UTC, 30 min ago \(no refresh for more than 15 min/,
  );
  assert.equal(freshness(null, NOW, 900).stale, true);
  assert.equal(freshness({ ...info(0), martsRefreshedAtMs: null }, NOW, 900).stale, true);
});

Deno.test("formatAge() reads as seconds, minutes, then hours", () => {
  assert.deepEqual([formatAge(45), formatAge(600), formatAge(3 * 3600 + 300)], ["45 s", "10 min", "3 h 5 min"]);
});

Deno.test("dashboardPage() puts the bar at the top of the report's body and the polling script before its end", () => {
  const page = dashboardPage("<html><body class=x><h1>Report</h1></body></html>", info(60), NOW, 900);
  assert.match(
    page,
    /^<html><body class=x><div id="dashboard-bar" data-stale="false"[^>]*>.*<h1>Report<\/h1><script>/s,
  );
  assert.match(page, /const builtAt = 1740875400000;/);
  assert.match(page, /fetch\("\/latest\.json"/);
  assert.match(page, /location\.reload\(\)/);
  const none = dashboardPage(null, null, NOW, 900);
  assert.match(none, /No report yet/);
  assert.match(none, /data-stale="true"/);
});
