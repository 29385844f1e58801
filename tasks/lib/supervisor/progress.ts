/** What the supervisor reads from its children's output: lag from progress lines, the refresh's summary. Pure. */

/** How far behind a component was at its last progress line. */
export interface Lag {
  /** Records the consumer has yet to read (consumer only). */
  messages?: number;
  /** Trade time of the newest trade handled behind the wall clock; null before the first trade. */
  seconds: number | null;
}

/**
 * The lag in a progress line of the consumer (`… | lag 12 messages, 0.8 s | …`) or of the producer
 * (`… | lag 0.4 s | queue 0`), or undefined for any other line.
 */
export function parseLag(line: string): Lag | undefined {
  const consumer = /^progress: .*\| lag (\d+) messages, (n\/a|\d+(?:\.\d+)? s) \|/.exec(line);
  if (consumer) return { messages: Number(consumer[1]), seconds: seconds(consumer[2]!) };
  const producer = /^progress: .*\| lag (n\/a|\d+(?:\.\d+)? s) \| queue \d+/.exec(line);
  if (producer) return { seconds: seconds(producer[1]!) };
  return undefined;
}

/** Whether a line of `deno task refresh` is its one-line outcome (summary, skip, or the error it stopped with). */
export function isRefreshOutcome(line: string): boolean {
  return line.startsWith("refresh: ");
}

function seconds(text: string): number | null {
  return text === "n/a" ? null : Number.parseFloat(text);
}
