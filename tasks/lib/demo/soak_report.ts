/** The soak's verdict: memory growth of each component, lag, latency and completeness, as JSON and as text. Pure. */

/**
 * Resident memory of one component, in KiB: the mean over the first samples after the warm-up, the mean over the last
 * samples, and the largest sample.
 */
export interface ComponentMemory {
  component: string;
  startKib: number;
  endKib: number;
  peakKib: number;
}

/**
 * Start, end and peak from a component's RSS samples (KiB, in order) taken after the warm-up. Start and end are means
 * over a window of `window` samples at each end: a garbage-collected process's RSS rises and falls by 10-20 % between
 * collections, so one sample at each end would report that swing as growth or shrinkage.
 */
export function memoryOf(component: string, samples: readonly number[], window: number): ComponentMemory {
  const size = Math.max(1, Math.min(window, Math.floor(samples.length / 2)));
  const mean = (values: readonly number[]) =>
    values.length === 0 ? 0 : Math.round(values.reduce((a, b) => a + b, 0) / values.length);
  return {
    component,
    startKib: mean(samples.slice(0, size)),
    endKib: mean(samples.slice(-size)),
    peakKib: samples.length === 0 ? 0 : Math.max(...samples),
  };
}

/** Everything the soak measured. */
export interface SoakReport {
  minutes: number;
  tradesPerSecond: number;
  trades: number;
  missing: number;
  doubled: number;
  /** Refreshes run, and the slowest one's wall time in seconds (a `deno task refresh` process, start-up included). */
  refreshes: { ok: number; failed: number; maxSeconds: number };
  maxLagMessages: number;
  endToEndP99Ms: number | null;
  memory: ComponentMemory[];
}

/** Growth of resident memory from after the warm-up to the end, in percent. */
export function growthPercent(memory: ComponentMemory): number {
  return memory.startKib === 0 ? 0 : ((memory.endKib - memory.startKib) / memory.startKib) * 100;
}

/** The components the memory bound applies to; the local exchange is the test's stand-in for Binance. */
export const BOUNDED_COMPONENTS = ["producer", "consumer"];

/** Whether the soak held: nothing lost or doubled, and neither producer nor consumer grew by 10 % or more. */
export function soakHeld(report: SoakReport): boolean {
  const bounded = report.memory.filter((m) => BOUNDED_COMPONENTS.includes(m.component));
  return report.missing === 0 && report.doubled === 0 && bounded.every((m) => growthPercent(m) < 10);
}

/** The report as lines for a person. */
export function formatSoak(report: SoakReport): string {
  const lines = [
    `soak: ${report.minutes} min at ${report.tradesPerSecond} trades/s: ${report.trades} trades, ` +
    `${report.missing} missing, ${report.doubled} doubled; refreshes ${report.refreshes.ok} ok, ` +
    `${report.refreshes.failed} failed, slowest ${report.refreshes.maxSeconds.toFixed(1)} s; ` +
    `max consumer lag ${report.maxLagMessages} messages; ` +
    `p99 trade → lake ${report.endToEndP99Ms === null ? "n/a" : `${Math.round(report.endToEndP99Ms)} ms`}`,
  ];
  for (const memory of report.memory) {
    const growth = growthPercent(memory);
    const note = !BOUNDED_COMPONENTS.includes(memory.component)
      ? "  (for information)"
      : growth >= 10
      ? "  over 10 %"
      : "";
    lines.push(
      `  ${memory.component.padEnd(9)} RSS ${mib(memory.startKib)} → ${mib(memory.endKib)} MiB ` +
        `(${growth >= 0 ? "+" : ""}${growth.toFixed(1)} %, peak ${mib(memory.peakKib)} MiB)${note}`,
    );
  }
  lines.push(
    `soak: ${soakHeld(report) ? "held" : "did NOT hold"}: nothing lost or doubled, producer and consumer memory ` +
      "growth under 10 %",
  );
  return lines.join("\n");
}

function mib(kib: number): string {
  return (kib / 1024).toFixed(0);
}
