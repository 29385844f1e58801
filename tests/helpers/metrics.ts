/** Scraping a task's Prometheus endpoint from tests. */

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return (listener.addr as Deno.NetAddr).port;
}

/** The sum of every sample of `name` (all label sets) in a text-format scrape; 0 when there is none. */
export function metricSum(text: string, name: string): number {
  const sample = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm");
  return [...text.matchAll(sample)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/**
 * Scrapes `http://127.0.0.1:<port>/metrics` until `done` accepts the text or `timeoutMs` passes; returns the last
 * scrape either way (the caller asserts on it).
 */
export async function scrapeUntil(port: number, done: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  while (true) {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
    if (response) text = await response.text();
    if (done(text) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
