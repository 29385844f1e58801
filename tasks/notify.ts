/**
 * `deno task notify`: POSTs every alert opening and resolution the refreshes recorded in marts.alerts to
 * ALERT_WEBHOOK_URL_FILE's URL (or ALERT_WEBHOOK_URL) as JSON, each once, retrying 3 times with a growing pause; what the webhook does not accept stays
 * pending for the next run. Run it after `refresh` (the schedulers in tasks/scheduling/ do).
 *
 * Exit codes: 0 sent everything (or nothing to send, or no webhook configured), 1 something is still pending.
 * Permissions: net to loopback only (add your webhook's host to this task's --allow-net in deno.json); read and
 * write the database folder; FFI for DuckDB, confined to that folder.
 */
import { resolve } from "node:path";
import { loadAlertWebhook, loadStorageConfig } from "./lib/config.ts";
import { runTask } from "./lib/cli.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { updatePublishedDatabase } from "./lib/warehouse/builder.ts";
import { sendPending, webhookLabel } from "./lib/warehouse/notify.ts";

async function main(): Promise<number> {
  const webhook = loadAlertWebhook(Deno.env);
  const duckdbPath = resolve(PROJECT_ROOT, loadStorageConfig(Deno.env).duckdbPath);
  if (!webhook) {
    console.log("notify: neither ALERT_WEBHOOK_URL_FILE nor ALERT_WEBHOOK_URL is set; nothing to send");
    return 0;
  }
  const outcome = await updatePublishedDatabase(
    duckdbPath,
    (connection) => sendPending(connection, webhook, { attempts: 3, firstPauseMs: 1000 }),
  );
  if (outcome.status === "locked") {
    console.log(`notify: a refresh is running (${duckdbPath}.lock); the next run sends what is pending`);
    return 0;
  }
  if (outcome.status === "missing") {
    console.log(`notify: no marts at ${duckdbPath} yet; run deno task refresh first`);
    return 0;
  }
  const { sent, pending, lastError } = outcome.value;
  console.log(
    `notify: sent ${sent} alert events to ${webhookLabel(webhook)}${pending > 0 ? `; ${pending} still pending` : ""}`,
  );
  if (lastError) console.error(`notify: ${lastError}`);
  return pending > 0 ? 1 : 0;
}

if (import.meta.main) runTask("notify", main);
