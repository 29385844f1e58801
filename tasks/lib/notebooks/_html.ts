/** Small HTML helpers for the notebook tables. */
import { GREY } from "./_plot.ts";

/** An HTML table with `header` cells and pre-rendered `<td>` rows. */
export function htmlTable(header: readonly string[], rows: readonly string[], className: string): string {
  const head = header.map((h) => `<th style="text-align:right;padding:2px 8px">${escapeHtml(h)}</th>`).join("");
  const body = rows.length === 0
    ? `<tr><td colspan="${header.length}" style="color:${GREY}">nothing in the window</td></tr>`
    : rows.map((row) => `<tr>${row}</tr>`).join("");
  return `<table class="${className}" style="border-collapse:collapse;font-variant-numeric:tabular-nums">` +
    `<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A right-aligned table cell, optionally coloured. */
export function cell(text: string, color?: string): string {
  const style = `text-align:right;padding:2px 8px${color === undefined ? "" : `;color:${color};font-weight:bold`}`;
  return `<td style="${style}">${escapeHtml(text)}</td>`;
}

/** A row's left-aligned header cell (the pair). */
export function rowHeader(text: string): string {
  return `<th style="text-align:left;padding:2px 8px">${escapeHtml(text)}</th>`;
}

/** `value` with at most 8 significant digits and thousands separators. */
export function formatNumber(value: number): string {
  return value.toLocaleString("en-US", { maximumSignificantDigits: 8 });
}

/** `text` safe inside HTML. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}
