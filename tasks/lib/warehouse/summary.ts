/** The refresh's closing report, as a person reads it. Pure. */
import { alertsLine } from "./alerts.ts";
import type { RefreshResult } from "./builder.ts";

/** A summary of a built refresh: failing tests with their rows, then the totals. */
export function formatSummary(result: Extract<RefreshResult, { status: "built" }>): string {
  const failed = result.tests.filter((test) => test.failingRows > 0);
  const lines: string[] = [];
  for (const test of failed) {
    lines.push(`FAILED ${test.name}: ${test.failingRows} rows, for example:`);
    for (const row of test.sample) lines.push(`  ${JSON.stringify(row)}`);
  }
  const from = result.mode === "incremental"
    ? result.rebuiltFrom === undefined ? ", lake unchanged" : `, rebuilt from ${result.rebuiltFrom} UTC`
    : "";
  const alerts = result.alerts ? alertsLine(result.alerts) : undefined;
  if (alerts) lines.push(alerts);
  lines.push(
    `refresh: ${result.mode}${from}: ${result.models.length} models, ` +
      `tests ${result.tests.length - failed.length} passed, ${failed.length} failed, ` +
      `${result.lakeFiles} lake files, ${result.seconds.toFixed(1)} s → ${result.published}`,
  );
  return lines.join("\n");
}
