/**
 * The dashboard's page: the latest report with a header bar that says when the marts were last refreshed, and a
 * small script that asks the server every few seconds whether a newer report exists (and reloads when it does) and
 * turns the bar red once the marts are older than the stale threshold. Pure: strings in, HTML out.
 */
import type { LatestReportInfo } from "../notebooks/report.ts";
import { escapeHtml } from "../notebooks/_html.ts";

/** How often the page asks for `latest.json`. */
export const POLL_MS = 5000;

/** Fresh or stale: the marts' last refresh against the threshold, as of `nowMs`. */
export function freshness(
  info: LatestReportInfo | null,
  nowMs: number,
  staleAfterSeconds: number,
): { stale: boolean; text: string } {
  if (info === null) return { stale: true, text: "No report yet: deno task start writes one after each refresh" };
  if (info.martsRefreshedAtMs === null) {
    return { stale: true, text: "The marts hold no data yet: the report says so" };
  }
  const ageS = Math.max(0, Math.round((nowMs - info.martsRefreshedAtMs) / 1000));
  const at = new Date(info.martsRefreshedAtMs).toISOString().slice(0, 16).replace("T", " ");
  const stale = ageS > staleAfterSeconds;
  return {
    stale,
    text: `${stale ? "STALE: " : ""}marts refreshed at ${at} UTC, ${formatAge(ageS)} ago` +
      (stale ? ` (no refresh for more than ${formatAge(staleAfterSeconds)}: is deno task start running?)` : ""),
  };
}

/** `45 s`, `12 min`, `3 h 5 min`. */
export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * `report` (the latest report's HTML, or null when there is none) with the dashboard's bar inserted at the top of its
 * body, and the script that keeps it current.
 */
export function dashboardPage(
  report: string | null,
  info: LatestReportInfo | null,
  nowMs: number,
  staleAfterSeconds: number,
): string {
  const state = freshness(info, nowMs, staleAfterSeconds);
  const bar = `<div id="dashboard-bar" data-stale="${state.stale}" style="position:sticky;top:0;z-index:10;` +
    `padding:8px 16px;font:14px system-ui,sans-serif;color:white;background:${state.stale ? "#d73027" : "#1a9850"}">` +
    `<b>Live dashboard</b> · <span id="dashboard-freshness">${escapeHtml(state.text)}</span></div>`;
  const script = `<script>
(() => {
  const builtAt = ${info === null ? "null" : info.builtAtMs};
  const staleAfterS = ${staleAfterSeconds};
  const bar = document.getElementById("dashboard-bar");
  const text = document.getElementById("dashboard-freshness");
  const age = (s) => s < 120 ? s + " s" : s < 7200 ? Math.floor(s / 60) + " min"
    : Math.floor(s / 3600) + " h " + (Math.floor(s / 60) % 60) + " min";
  async function poll() {
    try {
      const response = await fetch("/latest.json", { cache: "no-store" });
      const info = response.ok ? await response.json() : null;
      if (info && info.builtAtMs !== builtAt) return location.reload();
      if (!info || info.martsRefreshedAtMs === null) return;
      const ageS = Math.max(0, Math.round((Date.now() - info.martsRefreshedAtMs) / 1000));
      const at = new Date(info.martsRefreshedAtMs).toISOString().slice(0, 16).replace("T", " ");
      const stale = ageS > staleAfterS;
      bar.dataset.stale = String(stale);
      bar.style.background = stale ? "#d73027" : "#1a9850";
      text.textContent = (stale ? "STALE: " : "") + "marts refreshed at " + at + " UTC, " + age(ageS) + " ago" +
        (stale ? " (no refresh for more than " + age(staleAfterS) + ": is deno task start running?)" : "");
    } catch {
      bar.dataset.stale = "true";
      bar.style.background = "#d73027";
      text.textContent = "STALE: the dashboard server does not answer";
    }
  }
  setInterval(poll, ${POLL_MS});
})();
</script>`;
  const body = report ??
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Crypto pipeline dashboard</title></head><body>` +
      `<p style="font:16px system-ui,sans-serif;padding:16px">No report yet. <code>deno task start</code> writes ` +
      `one after each refresh; <code>deno task report</code> writes one now.</p></body></html>`;
  const withBar = /<body[^>]*>/i.test(body) ? body.replace(/<body[^>]*>/i, (tag) => tag + bar) : bar + body;
  return /<\/body>/i.test(withBar) ? withBar.replace(/<\/body>/i, `${script}</body>`) : withBar + script;
}
