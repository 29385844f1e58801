/** "Nothing to show yet": what the notebooks display instead of a chart when the marts are missing or empty. */

/** There is nothing to show yet; `message` is markdown for the notebook. */
export interface NoData {
  kind: "no-data";
  message: string;
}

/** Whether `value` is {@link NoData}. */
export function isNoData(value: unknown): value is NoData {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "no-data";
}

/** The friendly message for a database that does not exist yet or holds no trades. */
export function noData(detail: string): NoData {
  return { kind: "no-data", message: `**No data yet — run \`deno task demo\`.** ${detail}` };
}
