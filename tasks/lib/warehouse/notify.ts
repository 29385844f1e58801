/**
 * Telling a webhook about alerts: each opening and each resolution in marts.alerts is POSTed once as JSON, retried
 * with a growing pause, and marked as sent only when the webhook answered 2xx. What could not be sent stays pending
 * for the next run.
 */
import { redact, type Secret } from "../secrets.ts";
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "../duckdb.ts";

/** One notification, as POSTed. */
export interface AlertEvent {
  event: "alert_opened" | "alert_resolved";
  alert_id: string;
  market: string;
  pair: string;
  kind: string;
  message: string;
  value: number | null;
  threshold: number | null;
  opened_at: string;
  resolved_at: string | null;
}

/** What a run sent. */
export interface NotifyOutcome {
  sent: number;
  /** Left for the next run because the webhook did not accept them. */
  pending: number;
  lastError?: string;
}

/** How hard to try. */
export interface RetryPolicy {
  attempts: number;
  firstPauseMs: number;
}

/** Every notification not yet accepted by the webhook, openings before resolutions, oldest first. */
export async function pendingEvents(connection: DuckDBConnection): Promise<AlertEvent[]> {
  const rows = (await connection.runAndReadAll(`
    select 'alert_opened' as event, alert_id, market, pair, kind, message, value, threshold,
      strftime(opened_at, '%Y-%m-%dT%H:%M:%SZ') as opened_at,
      strftime(resolved_at, '%Y-%m-%dT%H:%M:%SZ') as resolved_at, opened_at as happened_at
    from marts.alerts where notified_opened_at is null
    union all
    select 'alert_resolved', alert_id, market, pair, kind, message, value, threshold,
      strftime(opened_at, '%Y-%m-%dT%H:%M:%SZ'), strftime(resolved_at, '%Y-%m-%dT%H:%M:%SZ'), resolved_at
    from marts.alerts where resolved_at is not null and notified_resolved_at is null
    order by happened_at, event desc, alert_id`)).getRowObjectsJson();
  return rows.map((row) => ({
    event: row.event as AlertEvent["event"],
    alert_id: String(row.alert_id),
    market: String(row.market),
    pair: String(row.pair),
    kind: String(row.kind),
    message: String(row.message),
    value: row.value === null ? null : Number(row.value),
    threshold: row.threshold === null ? null : Number(row.threshold),
    opened_at: String(row.opened_at),
    resolved_at: row.resolved_at === null ? null : String(row.resolved_at),
  }));
}

/** POSTs each pending notification to `webhook` in order, marking what it accepted; stops at the first refusal. */
export async function sendPending(
  connection: DuckDBConnection,
  webhook: Secret,
  retry: RetryPolicy,
  fetchImpl: typeof fetch = fetch,
): Promise<NotifyOutcome> {
  const events = await pendingEvents(connection);
  let sent = 0;
  for (const event of events) {
    const error = await post(webhook, event, retry, fetchImpl);
    if (error) return { sent, pending: events.length - sent, lastError: error };
    const column = event.event === "alert_opened" ? "notified_opened_at" : "notified_resolved_at";
    await connection.run(
      `update marts.alerts set ${column} = now()::timestamp where alert_id = ${sqlString(event.alert_id)}`,
    );
    sent++;
  }
  return { sent, pending: 0 };
}

/** Sends one event, retrying; undefined when accepted, else why not. */
async function post(webhook: Secret, event: AlertEvent, retry: RetryPolicy, fetchImpl: typeof fetch) {
  let reason = "";
  for (let attempt = 0; attempt < retry.attempts; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, retry.firstPauseMs * 2 ** (attempt - 1)));
    try {
      const response = await fetchImpl(webhook.reveal(), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      if (response.ok) return undefined;
      reason = `HTTP ${response.status}`;
    } catch (error) {
      reason = redact((error as Error).message);
    }
  }
  return `${
    webhookLabel(webhook)
  } did not accept ${event.event} ${event.alert_id} after ${retry.attempts} attempts: ${reason}`;
}

/** Where a webhook points without what it carries: its origin, with the path and query (often a token) left out. */
export function webhookLabel(webhook: Secret): string {
  const url = new URL(webhook.reveal());
  return url.pathname === "/" && url.search === "" ? url.origin : `${url.origin}/…`;
}
