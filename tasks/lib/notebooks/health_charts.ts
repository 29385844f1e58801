/**
 * The pipeline-health charts as standalone SVG strings and the status, gap and archive tables as HTML. Pure: data in,
 * markup out. Thresholds are drawn where they apply, so a reader sees how far a series is from an alert.
 */
import {
  AMBER,
  BLUE,
  bucketMiddle,
  emptyChart,
  formatBytes,
  formatMinute,
  GREEN,
  GREY,
  Plot,
  RED,
  renderSvg,
  timeAxis,
} from "./_plot.ts";
import { cell, formatNumber, htmlTable, rowHeader } from "./_html.ts";
import type { ArchiveDay, DlqWindow, HealthWindow, LakeHour, LatencyMinute, TradeGap } from "./health_queries.ts";
import { pairLabel, type Window } from "./queries.ts";
import type { Market } from "../market.ts";
import type { Scorecard } from "../warehouse/scorecard.ts";

/** The colour of each health status. */
export const STATUS_COLORS = { ok: GREEN, warn: AMBER, stale: RED } as const;

const PERCENTILE_COLORS = { p50: GREEN, p95: AMBER, p99: RED } as const;

const FIVE_MINUTES_MS = 5 * 60_000;

/**
 * Latency percentiles per minute, exchange → producer (`ingest`) or producer → lake file (`lake`). For `ingest` the
 * warn threshold (HEALTH_WARN_LATENCY_MS, which the health mart compares p99 with) is drawn as a dashed line.
 */
export function latencyChart(
  latency: readonly LatencyMinute[],
  options: {
    pair: string;
    stage: "ingest" | "lake";
    warnLatencyMs?: number;
    window: Window;
    /** When live capture of the pair last delivered a trade, for the message of a window without any. */
    lastLiveAt?: Date | null;
  },
): string {
  const { pair, stage, warnLatencyMs, window } = options;
  if (latency.length === 0) {
    const last = options.lastLiveAt ? `live capture last ran until ${formatMinute(options.lastLiveAt)} UTC` : "";
    return emptyChart(
      `${stage} latency chart`,
      `No live trades of ${pair} in the window (imported and backfilled trades have no latency)` +
        (last ? `; ${last}` : ""),
    );
  }
  const points = latency.flatMap((d) =>
    (["p50", "p95", "p99"] as const).map((percentile) => ({
      minuteAt: bucketMiddle(d.minuteAt),
      percentile,
      ms: stage === "ingest"
        ? { p50: d.ingestP50Ms, p95: d.ingestP95Ms, p99: d.ingestP99Ms }[percentile]
        : { p50: d.lakeP50Ms, p95: d.lakeP95Ms, p99: d.lakeP99Ms }[percentile],
    }))
  );
  const threshold = stage === "ingest" ? warnLatencyMs : undefined;
  const highest = Math.max(...points.map((p) => p.ms), threshold ?? 0);
  const label = stage === "ingest" ? "exchange → producer" : "producer → lake file";
  return renderSvg({
    ariaLabel: `${stage} latency chart`,
    height: 280,
    marginLeft: 70,
    grid: true,
    x: timeAxis(window),
    y: { label: `${pair} ${label}, ms`, domain: [0, highest * 1.1] },
    color: { domain: Object.keys(PERCENTILE_COLORS), range: Object.values(PERCENTILE_COLORS) },
    marks: [
      // z names the series: left implicit, Plot warns when a few minutes give as many series as points.
      Plot.lineY(points, { x: "minuteAt", y: "ms", z: "percentile", stroke: "percentile", strokeWidth: 1.5 }),
      Plot.dot(points, { x: "minuteAt", y: "ms", stroke: "percentile", r: 2, title: latencyTitle }),
      ...(threshold === undefined ? [] : [
        Plot.ruleY([threshold], { stroke: RED, strokeDasharray: "6,4" }),
        Plot.text([threshold], {
          y: (v: number) => v,
          text: (v: number) => `warn above ${v} ms (HEALTH_WARN_LATENCY_MS)`,
          frameAnchor: "right",
          textAnchor: "end",
          dy: -7,
          fill: RED,
        }),
      ]),
    ],
  }, [
    { label: "p50", color: PERCENTILE_COLORS.p50, line: "solid" },
    { label: "p95", color: PERCENTILE_COLORS.p95, line: "solid" },
    { label: "p99", color: PERCENTILE_COLORS.p99, line: "solid" },
    ...(threshold === undefined ? [] : [{ label: "alert threshold", color: RED, line: "dashed" as const }]),
  ]);
}

function latencyTitle(d: { minuteAt: Date; percentile: string; ms: number }): string {
  return `${formatMinute(d.minuteAt)} ${d.percentile} ${d.ms.toFixed(1)} ms`;
}

/** Status per pair and 5-minute window: green ok, amber warn, red stale. */
export function healthStatusChart(health: readonly HealthWindow[], window: Window): string {
  if (health.length === 0) return emptyChart("health status chart", "No health windows in the window");
  const pairs = [...new Set(health.map((d) => d.pair))].sort();
  return renderSvg({
    ariaLabel: "health status chart",
    height: 60 + pairs.length * 28,
    marginLeft: 80,
    x: timeAxis(window, { bucketMs: FIVE_MINUTES_MS, cover: windowBounds(health) }),
    y: { domain: pairs, label: null },
    marks: [
      Plot.barX(health, {
        x1: "windowStartAt",
        x2: "windowEndAt",
        y: "pair",
        fill: (d: HealthWindow) => STATUS_COLORS[d.status],
        inset: 1,
        title: (d: HealthWindow) => `${d.pair} ${formatMinute(d.windowStartAt)}: ${d.status}`,
      }),
    ],
  }, [
    { label: "ok", color: STATUS_COLORS.ok },
    { label: "warn (p99 latency or open gaps)", color: STATUS_COLORS.warn },
    { label: "stale (no trade recently)", color: STATUS_COLORS.stale },
  ]);
}

/** The starts and ends of 5-minute windows, which a time axis must hold whole. */
function windowBounds(windows: readonly { windowStartAt: Date; windowEndAt: Date }[]): Date[] {
  return windows.flatMap((d) => [d.windowStartAt, d.windowEndAt]);
}

/** Seconds since the last trade and the last ingest, per window of one pair, with the stale threshold. */
export function freshnessChart(
  health: readonly HealthWindow[],
  options: { pair: string; staleAfterSeconds: number; window: Window },
): string {
  const rows = health.filter((d) => d.pair === options.pair);
  if (rows.length === 0) return emptyChart("freshness chart", `No health windows of ${options.pair} in the window`);
  const points = rows.flatMap((d) => [
    { at: d.windowEndAt, series: "since last trade", seconds: d.secondsSinceLastTrade },
    { at: d.windowEndAt, series: "since last ingest", seconds: d.secondsSinceLastIngest },
  ]);
  const highest = Math.max(options.staleAfterSeconds, ...points.map((p) => p.seconds));
  return renderSvg({
    ariaLabel: "freshness chart",
    height: 240,
    marginLeft: 70,
    grid: true,
    x: timeAxis(options.window, {
      bucketMs: FIVE_MINUTES_MS,
      label: "end of the 5-minute window",
      cover: windowBounds(rows),
    }),
    y: { label: `${options.pair} seconds`, domain: [0, highest * 1.1] },
    color: { domain: ["since last trade", "since last ingest"], range: [BLUE, AMBER] },
    marks: [
      Plot.lineY(points, { x: "at", y: "seconds", z: "series", stroke: "series", strokeWidth: 1.5, marker: "circle" }),
      Plot.ruleY([options.staleAfterSeconds], { stroke: RED, strokeDasharray: "6,4" }),
      Plot.text([options.staleAfterSeconds], {
        y: (v: number) => v,
        text: (v: number) => `stale after ${v} s (HEALTH_STALE_AFTER_S)`,
        frameAnchor: "right",
        textAnchor: "end",
        dy: -7,
        fill: RED,
      }),
    ],
  }, [
    { label: "seconds since last trade", color: BLUE, line: "solid" },
    { label: "seconds since last ingest", color: AMBER, line: "solid" },
    { label: "stale threshold", color: RED, line: "dashed" },
  ]);
}

// Observable's tableau10, so the legend and the bars agree on each reason's colour.
const TABLEAU10 = ["#4e79a7", "#f28e2c", "#e15759", "#76b7b2", "#59a14f", "#edc949", "#af7aa1", "#ff9da7"];

/** Dead-letter events per 5-minute window, stacked by reason; says so when there were none. */
export function dlqChart(dlq: readonly DlqWindow[], window: Window): string {
  if (dlq.length === 0) return emptyChart("dlq chart", "No health windows in the window");
  const total = dlq.reduce((sum, d) => sum + d.events, 0);
  const reasons = [...new Set(dlq.map((d) => d.reason))].sort();
  return renderSvg({
    ariaLabel: "dlq chart",
    height: 200,
    marginLeft: 70,
    grid: true,
    x: timeAxis(window, { bucketMs: FIVE_MINUTES_MS, cover: windowBounds(dlq) }),
    y: {
      label: "DLQ events (all pairs and none)",
      domain: total === 0 ? [0, 1] : undefined,
      ticks: total === 0 ? 1 : undefined,
    },
    color: { domain: reasons, range: TABLEAU10 },
    marks: [
      Plot.rectY(dlq, {
        x1: "windowStartAt",
        x2: "windowEndAt",
        y: "events",
        fill: "reason",
        insetLeft: 1,
        insetRight: 1,
      }),
      Plot.ruleY([0], { stroke: GREY }),
      ...(total === 0
        ? [Plot.text(["No dead-letter events in the window"], { frameAnchor: "middle", fill: GREEN })]
        : []),
    ],
  }, reasons.map((reason, i) => ({ label: reason, color: TABLEAU10[i % TABLEAU10.length]! })));
}

/**
 * Trade-id gaps by when they began, one row per pair: red open, grey healed, sized by the ids missing. The time axis
 * spans `window`, stretched back to the oldest open gap.
 */
export function gapsChart(gaps: readonly TradeGap[], window: Window): string {
  if (gaps.length === 0) {
    return emptyChart("gaps chart", "No trade-id gaps in the window, and none open: every id is in the lake");
  }
  const pairs = [...new Set(gaps.map((d) => d.pair))].sort();
  const start = new Date(Math.min(window.start.getTime(), ...gaps.map((d) => d.gapAfterAt.getTime())));
  return renderSvg({
    ariaLabel: "gaps chart",
    height: 80 + pairs.length * 40,
    marginLeft: 80,
    grid: true,
    // Inset by the largest dot's radius, so a gap at either end of the window is drawn whole.
    x: { ...timeAxis({ start, end: window.end }, { label: "time of the trade before the gap" }), inset: 14 },
    y: { domain: pairs, label: null },
    r: { range: [4, 14] },
    marks: [
      Plot.dot(gaps, {
        x: "gapAfterAt",
        y: "pair",
        r: "missingCount",
        fill: (d: TradeGap) => d.status === "open" ? RED : GREY,
        fillOpacity: 0.8,
        title: (d: TradeGap) =>
          `${d.pair} ids ${d.fromTradeId}-${d.toTradeId} (${d.missingCount}) ${d.status}` +
          (d.healedBy === null ? "" : ` by ${d.healedBy}`),
      }),
      Plot.text(gaps, {
        x: "gapAfterAt",
        y: "pair",
        text: (d: TradeGap) => `${d.missingCount}`,
        dy: -16,
        fill: GREY,
      }),
    ],
  }, [{ label: "open", color: RED }, { label: "healed", color: GREY }]);
}

/** The gaps as a table, open ones first. */
export function gapsTable(gaps: readonly TradeGap[], limit = 20): string {
  const sorted = [...gaps].sort((a, b) =>
    a.status === b.status ? b.gapAfterAt.getTime() - a.gapAfterAt.getTime() : a.status === "open" ? -1 : 1
  );
  const rows = sorted.slice(0, limit).map((g) =>
    [
      rowHeader(g.pair),
      cell(`${g.fromTradeId}–${g.toTradeId}`),
      cell(String(g.missingCount)),
      cell(formatMinute(g.gapAfterAt)),
      cell(formatMinute(g.firstSeenAt)),
      cell(g.status, g.status === "open" ? RED : GREY),
      cell(g.healedBy === null ? "" : g.healedBy.replace("_", " ")),
    ].join("")
  );
  return htmlTable(
    ["pair", "missing ids", "count", "after trade at (UTC)", "first seen (UTC)", "status", "healed by"],
    rows,
    "gaps",
  );
}

/**
 * The archive imports against the live capture, per pair and day: trades in both, those that disagree (red) and the
 * fields that differ; one line when there are none.
 */
export function archiveTable(days: readonly ArchiveDay[]): string {
  if (days.length === 0) return `<p class="archive" style="color:${GREY}">No archive imports in the window</p>`;
  const rows = days.map((d) =>
    [
      rowHeader(d.pair),
      cell(d.tradeDate),
      cell(formatNumber(d.archiveTrades)),
      cell(formatNumber(d.liveTrades)),
      cell(formatNumber(d.overlappingTrades)),
      cell(formatNumber(d.disagreeingTrades), d.disagreeingTrades > 0 ? RED : undefined),
      cell(d.differingFields.join(", ")),
    ].join("")
  );
  return htmlTable(
    ["pair", "day (UTC)", "archive trades", "live trades", "in both", "disagreeing", "differing fields"],
    rows,
    "archive",
  );
}

/** Parquet files per lake hour (all pairs) with the hour's total and average file size above each bar. */
export function lakeFilesChart(hours: readonly LakeHour[]): string {
  if (hours.length === 0) {
    return emptyChart("lake files chart", "No Parquet files in the lake (LAKE_DIR) in the last 24 hours");
  }
  const bars = hours.map((h) => ({ ...h, hourEndAt: new Date(h.hourStartAt.getTime() + 3_600_000) }));
  return renderSvg({
    ariaLabel: "lake files chart",
    height: 260,
    marginLeft: 70,
    marginTop: 30,
    grid: true,
    x: timeAxis({ start: bars[0]!.hourStartAt, end: bars[bars.length - 1]!.hourEndAt }, {
      bucketMs: 3_600_000,
      label: "lake hour partition (UTC)",
    }),
    y: { label: "Parquet files", nice: true },
    marks: [
      Plot.rectY(bars, {
        x1: "hourStartAt",
        x2: "hourEndAt",
        y1: 0,
        y2: "files",
        fill: BLUE,
        insetLeft: 2,
        insetRight: 2,
      }),
      Plot.text(bars, {
        x: (d: LakeHour) => new Date(d.hourStartAt.getTime() + 1_800_000),
        y: "files",
        text: (d: LakeHour) => `${formatBytes(d.bytes)}, ⌀ ${formatBytes(d.bytes / d.files)}`,
        dy: -8,
        fill: GREY,
      }),
      Plot.ruleY([0], { stroke: GREY }),
    ],
  }, [{ label: "files per hour (label: total size, average file size)", color: BLUE }]);
}

/**
 * The latest window of each pair as a table: status and freshness of that window; the kline check, gaps, DLQ events
 * and p99 latency over the notebook's window, from the scorecard (as the report's headline). A note under it counts
 * the dead-letter events that carried no pair, which the DLQ chart below includes and no row does.
 */
export function statusTable(latest: readonly HealthWindow[], card: Scorecard): string {
  const scores = new Map(card.pairs.map((p) => [pairLabel(p.pair, p.market as Market), p]));
  const rows = latest.map((d) => {
    const score = scores.get(d.pair);
    const klines = score === undefined || score.klinesChecked === 0
      ? "–"
      : `${score.klinesMatched} of ${score.klinesChecked}`;
    return [
      rowHeader(d.pair),
      cell(d.status, STATUS_COLORS[d.status]),
      cell(formatMinute(d.windowStartAt)),
      cell(d.secondsSinceLastTrade.toFixed(1)),
      cell(d.secondsSinceLastIngest.toFixed(1)),
      cell(score === undefined ? "–" : `${score.gapsFound} / ${score.gapsHealed} / ${score.gapsOpen}`),
      cell(d.ingestP99Ms === null ? "–" : d.ingestP99Ms.toFixed(0)),
      cell(String(score?.dlqEvents ?? 0)),
      cell(klines, score && score.klinesChecked > 0 && score.klinesMatched < score.klinesChecked ? RED : undefined),
    ].join("");
  });
  const total = Object.values(card.dlqByReason).reduce((sum, n) => sum + n, 0);
  const note = `<p class="status-note" style="color:${GREY};font-size:12px">Status, seconds and p99 are those of ` +
    `each pair's latest 5-minute window; gaps, DLQ and klines count the whole window. DLQ events in the window: ` +
    `${total}, of which ${card.dlqWithoutPair} carried no pair (in no row above, in the chart below).</p>`;
  return htmlTable(
    [
      "pair",
      "status",
      "latest window (UTC)",
      "s since trade",
      "s since ingest",
      "gaps found / healed / open",
      "p99 ingest ms",
      "DLQ events of the pair",
      "klines matched",
    ],
    rows,
    "status",
  ) + note;
}
