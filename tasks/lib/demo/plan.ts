/**
 * What the demo runs on: its own broker, lake, database and producer state, apart from the user's, and started clean
 * every time so that a second run works like the first. Pure.
 */

/** The demo's symbols: several, so partitions, candles and health show more than one pair. */
export const DEMO_SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"] as const;

/** The folders a sandboxed run (the demo, the soak) owns and clears before it starts, all under data/. */
export function sandboxDirs(name: string) {
  return {
    kafka: `data/kafka-${name}`,
    lake: `data/parquet/${name}`,
    database: `data/duckdb/${name}`,
    producer: `data/producer/${name}`,
    archive: `data/archive/${name}`,
  } as const;
}

/** Folders the demo owns and clears before it starts (all under data/, where the tasks may write). */
export const DEMO_DIRS = sandboxDirs("demo");

/** Minutes of history the demo imports from the exchange's archive before it goes live: a full hour of candles. */
export const DEMO_HISTORY_MINUTES = 60;

/** The archive days (`YYYY-MM-DD`, UTC) that hold the `minutes` before `nowMs`: one, or two across midnight. */
export function historyDays(nowMs: number, minutes: number): { from: string; to: string } {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { from: day(nowMs - minutes * 60_000), to: day(nowMs) };
}

/** The demo's broker: its own ports, so a broker the user runs on 9092 is left alone. */
export const DEMO_BROKERS = "localhost:19092";

/** Faults the local exchange injects so the dead-letter queue and gap healing have something to show. */
export const DEMO_FAULTS = "malformed_json=0.002,bad_price=0.001,unsubscribed_symbol=0.001,duplicate=0.002,drop=0.0003";

/** The environment every task of the demo runs with; the exchange URLs once its port is known. */
export function demoEnvironment(exchangePort?: number): Record<string, string> {
  return sandboxEnvironment("demo", DEMO_BROKERS, exchangePort);
}

/** The environment of every task of a sandboxed run `name` on `brokers`. */
export function sandboxEnvironment(name: string, brokers: string, exchangePort?: number): Record<string, string> {
  const dirs = sandboxDirs(name);
  const env: Record<string, string> = {
    KAFKA_BROKERS: brokers,
    KAFKA_DATA_DIR: dirs.kafka,
    LAKE_DIR: dirs.lake,
    DUCKDB_PATH: `${dirs.database}/crypto.duckdb`,
    PRODUCER_STATE_PATH: `${dirs.producer}/state.json`,
    ARCHIVE_CACHE_DIR: dirs.archive,
    SYMBOLS: DEMO_SYMBOLS.join(","),
    // The demo echoes its children's lines to a person: plain text, not the JSON lines a pipe would get.
    LOG_FORMAT: "text",
  };
  if (exchangePort !== undefined) {
    env.BINANCE_WS_URL = `ws://127.0.0.1:${exchangePort}`;
    env.BINANCE_REST_URL = `http://127.0.0.1:${exchangePort}`;
    env.BINANCE_DATA_URL = `http://127.0.0.1:${exchangePort}`; // the local exchange serves its archive too
  }
  return env;
}

/** The port in the exchange's `{"event":"listening",…,"port":N}` line, or undefined for any other line. */
export function listeningPort(line: string): number | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const event = JSON.parse(line);
    return event.event === "listening" && Number.isInteger(event.port) ? event.port : undefined;
  } catch {
    return undefined;
  }
}

/** Per pair, what the lake ended with. */
export interface PairOutcome {
  pair: string;
  trades: number;
  /** Of those, the trades imported from the exchange's archive (the history before live capture began). */
  archived: number;
  distinctIds: number;
  firstId: number;
  lastId: number;
  candles: number;
  ingestP99Ms: number | null;
  /** The ids the exchange made for the pair, from its report when the market closed. */
  exchangeFirstId: number | null;
  exchangeLastId: number | null;
}

/** Whether the lake holds every trade the exchange made for the pair, each once. */
export function isComplete(pair: PairOutcome): boolean {
  return pair.trades === pair.distinctIds && pair.distinctIds === pair.lastId - pair.firstId + 1 &&
    pair.firstId === pair.exchangeFirstId && pair.lastId === pair.exchangeLastId;
}

/** What the demo prints at the end. */
export interface DemoOutcome {
  seconds: number;
  pairs: PairOutcome[];
  /** Dead-letter events by reason, from the marts (producer and consumer). */
  dlq: Record<string, number>;
  /** Trade-id gaps from the marts: found, healed (and the ids that brought back), still open. */
  gapsFound: number;
  gapsHealed: number;
  idsHealed: number;
  openGaps: number;
  reconnects: number;
  klinesChecked: number;
  klinesMatched: number;
  testsFailed: number;
  databasePath: string;
  reportPath?: string;
}

/** The closing summary: per pair, what was ingested and whether any id is missing or doubled; then the rest. */
export function formatOutcome(outcome: DemoOutcome): string {
  const archived = outcome.pairs.reduce((sum, pair) => sum + pair.archived, 0);
  const history = archived > 0 ? ` after ${archived} trades of history from the exchange's archive` : "";
  const lines = [`demo: ${outcome.seconds.toFixed(0)} s of live trades${history}, ingested:`];
  for (const pair of outcome.pairs) {
    const expected = pair.lastId - pair.firstId + 1;
    const missing = expected - pair.distinctIds;
    const doubled = pair.trades - pair.distinctIds;
    const p99 = pair.ingestP99Ms === null ? "n/a" : `${pair.ingestP99Ms.toFixed(0)} ms`;
    const made = pair.firstId === pair.exchangeFirstId && pair.lastId === pair.exchangeLastId
      ? "all the exchange made"
      : `the exchange made ${pair.exchangeFirstId}–${pair.exchangeLastId}`;
    lines.push(
      `  ${pair.pair.padEnd(9)} ${String(pair.trades).padStart(7)} trades (${pair.archived} archive), ` +
        `ids ${pair.firstId}–${pair.lastId} ` +
        `(${made}): ${missing} missing, ${doubled} doubled; ${pair.candles} ${
          pair.candles === 1 ? "candle" : "candles"
        }; ` +
        `p99 trade → producer ${p99}`,
    );
  }
  const dlqTotal = Object.values(outcome.dlq).reduce((sum, n) => sum + n, 0);
  const reasons = Object.entries(outcome.dlq).map(([reason, n]) => `${reason} ${n}`).join(", ");
  lines.push(`  dead-letter queue: ${dlqTotal} events${reasons ? ` (${reasons})` : ""}`);
  lines.push(
    `  gaps: ${outcome.gapsFound} found, ${outcome.gapsHealed} healed (${outcome.idsHealed} ids), ` +
      `${outcome.openGaps} open; ` +
      `${outcome.reconnects} reconnects`,
  );
  lines.push(
    `  candles vs the exchange's klines: ${outcome.klinesMatched} of ${outcome.klinesChecked} minutes match; ` +
      `data tests ${outcome.testsFailed === 0 ? "passed" : `FAILED (${outcome.testsFailed})`}`,
  );
  lines.push(`  marts: ${outcome.databasePath}`);
  if (outcome.reportPath) lines.push(`  report: ${outcome.reportPath}`);
  return lines.join("\n");
}
