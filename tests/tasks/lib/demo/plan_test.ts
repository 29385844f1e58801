import assert from "node:assert/strict";
import {
  demoEnvironment,
  formatOutcome,
  historyDays,
  isComplete,
  listeningPort,
  type PairOutcome,
} from "../../../../tasks/lib/demo/plan.ts";

const pair = (overrides: Partial<PairOutcome> = {}): PairOutcome => ({
  pair: "BTCUSDT",
  trades: 100,
  archived: 0,
  distinctIds: 100,
  firstId: 1,
  lastId: 100,
  candles: 2,
  ingestP99Ms: 3.4,
  exchangeFirstId: 1,
  exchangeLastId: 100,
  ...overrides,
});

Deno.test("demoEnvironment() keeps the demo apart from the user's broker, lake, database and producer state", () => {
  const env = demoEnvironment(4321);
  assert.equal(env.KAFKA_BROKERS, "localhost:19092");
  assert.equal(env.LAKE_DIR, "data/parquet/demo");
  assert.equal(env.DUCKDB_PATH, "data/duckdb/demo/crypto.duckdb");
  assert.equal(env.PRODUCER_STATE_PATH, "data/producer/demo/state.json");
  assert.equal(env.ARCHIVE_CACHE_DIR, "data/archive/demo");
  assert.equal(env.BINANCE_DATA_URL, "http://127.0.0.1:4321", "the history comes from the local exchange's archive");
  assert.equal(env.BINANCE_WS_URL, "ws://127.0.0.1:4321");
  assert.equal(env.BINANCE_REST_URL, "http://127.0.0.1:4321");
  assert.equal(env.LOG_FORMAT, "text", "the demo echoes readable lines, not JSON");
  assert.equal(demoEnvironment().BINANCE_WS_URL, undefined);
});

Deno.test("historyDays() names the archive days that hold the minutes before now, two across midnight", () => {
  assert.deepEqual(historyDays(Date.parse("2026-12-03T10:30:00Z"), 60), { from: "2026-12-03", to: "2026-12-03" });
  assert.deepEqual(historyDays(Date.parse("2026-12-03T00:20:00Z"), 60), { from: "2026-12-02", to: "2026-12-03" });
});

Deno.test("listeningPort() reads the exchange's listening line and nothing else", () => {
  assert.equal(listeningPort('{"event":"listening","host":"127.0.0.1","port":40123,"symbols":["BTCUSDT"]}'), 40123);
  assert.equal(listeningPort('{"event":"stopped","port":1}'), undefined);
  assert.equal(listeningPort("exchange: 20 trades/s"), undefined);
  assert.equal(listeningPort("{not json"), undefined);
});

Deno.test("isComplete() wants every id the exchange made, each once", () => {
  assert.equal(isComplete(pair()), true);
  assert.equal(isComplete(pair({ trades: 101 })), false, "a trade doubled");
  assert.equal(isComplete(pair({ trades: 99, distinctIds: 99 })), false, "an id missing");
  assert.equal(isComplete(pair({ exchangeLastId: 105 })), false, "the last trades never arrived");
});

Deno.test("formatOutcome() says per pair what was ingested, then the DLQ, gaps, klines and where to look", () => {
  const text = formatOutcome({
    seconds: 120,
    pairs: [
      pair({ archived: 60 }),
      pair({ pair: "ETHUSDT", trades: 49, distinctIds: 49, lastId: 50, candles: 1, ingestP99Ms: null }),
    ],
    dlq: { malformed_json: 2, invalid_decimal: 1 },
    gapsFound: 1,
    gapsHealed: 1,
    idsHealed: 3,
    openGaps: 0,
    reconnects: 1,
    klinesChecked: 4,
    klinesMatched: 4,
    testsFailed: 0,
    databasePath: "data/duckdb/demo/crypto.duckdb",
    reportPath: "reports/latest.html",
  });
  assert.equal(
    text,
    [
      "demo: 120 s of live trades after 60 trades of history from the exchange's archive, ingested:",
      "  BTCUSDT       100 trades (60 archive), ids 1–100 (all the exchange made): 0 missing, 0 doubled; 2 candles; " +
      "p99 trade → producer 3 ms",
      "  ETHUSDT        49 trades (0 archive), ids 1–50 (the exchange made 1–100): 1 missing, 0 doubled; 1 candle; " +
      "p99 trade → producer n/a",
      "  dead-letter queue: 3 events (malformed_json 2, invalid_decimal 1)",
      "  gaps: 1 found, 1 healed (3 ids), 0 open; 1 reconnects",
      "  candles vs the exchange's klines: 4 of 4 minutes match; data tests passed",
      "  marts: data/duckdb/demo/crypto.duckdb",
      "  report: reports/latest.html",
    ].join("\n"),
  );
});
