/**
 * Alerts: after every refresh, the conditions that hold now (marts.fct_alert_conditions, plain SQL) become the
 * history in marts.alerts: a condition seen for the first time opens an alert, one still seen keeps it open with
 * the latest value, one no longer seen resolves it.
 */
import type { DuckDBConnection } from "@duckdb/node-api";

/** What one refresh did to the alerts. */
export interface AlertChanges {
  opened: number;
  resolved: number;
  /** Every alert open after the refresh. */
  open: { market: string; pair: string; kind: string; message: string; openedAt: string }[];
}

/** Applies the current conditions to marts.alerts at `nowAt` (`YYYY-MM-DD HH:MM:SS`, UTC). */
export async function updateAlerts(connection: DuckDBConnection, nowAt: string): Promise<AlertChanges> {
  const isCurrent = "c.market = a.market and c.pair = a.pair and c.kind = a.kind";
  await connection.run(`
    update marts.alerts as a
    set last_seen_at = c.measured_at, value = c.value, threshold = c.threshold, message = c.message
    from marts.fct_alert_conditions as c
    where ${isCurrent} and a.resolved_at is null`);
  const opened = await connection.run(`
    insert into marts.alerts by name
    select
      -- spot's ids keep the form they had before markets existed
      case when c.market = 'spot' then '' else c.market || '/' end || c.pair || '/' || c.kind || '/' ||
        strftime(c.measured_at, '%Y-%m-%dT%H:%M:%S') as alert_id,
      c.market, c.pair, c.kind, c.measured_at as opened_at, c.measured_at as last_seen_at, c.value, c.threshold, c.message
    from marts.fct_alert_conditions as c
    where not exists (select 1 from marts.alerts as a where ${isCurrent} and a.resolved_at is null)`);
  const resolved = await connection.run(`
    update marts.alerts as a set resolved_at = timestamp '${nowAt}'
    where a.resolved_at is null
      and not exists (select 1 from marts.fct_alert_conditions as c where ${isCurrent})`);
  const open = (await connection.runAndReadAll(`
    select market, pair, kind, message, strftime(opened_at, '%Y-%m-%d %H:%M:%S') as opened_at
    from marts.alerts where resolved_at is null order by market, pair, kind`)).getRowObjectsJson();
  return {
    opened: Number(opened.rowsChanged),
    resolved: Number(resolved.rowsChanged),
    open: open.map((row) => ({
      market: String(row.market),
      pair: String(row.pair),
      kind: String(row.kind),
      message: String(row.message),
      openedAt: String(row.opened_at),
    })),
  };
}

/** One line for the refresh summary, or undefined when nothing is open and nothing changed. */
export function alertsLine(changes: AlertChanges): string | undefined {
  if (changes.open.length === 0 && changes.opened === 0 && changes.resolved === 0) return undefined;
  const open = changes.open.map((alert) => `${marketPrefix(alert.market)}${alert.pair} ${alert.kind}: ${alert.message}`)
    .join("; ");
  return `alerts: ${changes.open.length} open (${changes.opened} new, ${changes.resolved} resolved)` +
    (open ? `: ${open}` : "");
}

/** How a pair is named next to its market in a line for a person: spot's bare, as before markets existed. */
function marketPrefix(market: string): string {
  return market === "spot" ? "" : `${market} `;
}
