import assert from "node:assert/strict";
import { ConfigError } from "../../../tasks/lib/config.ts";
import { createLogger, formatLogLine, logFormatFromEnv, logMessage } from "../../../tasks/lib/log.ts";

const TS = Date.UTC(2025, 2, 1, 12, 0, 0, 250);
const env = (values: Record<string, string> = {}) => new Map(Object.entries(values));

Deno.test("formatLogLine() writes one JSON object with ts, level, component and msg first", () => {
  const line = formatLogLine("json", {
    ts: TS,
    level: "info",
    component: "producer",
    message: "progress: BTCUSDT 12/s | dlq 0",
    fields: { symbols: 3, lag_seconds: 0.4 },
  });
  assert.equal(
    line,
    '{"ts":"2025-03-01T12:00:00.250Z","level":"info","component":"producer","msg":"progress: BTCUSDT 12/s | dlq 0",' +
      '"symbols":3,"lag_seconds":0.4}',
  );
  assert.deepEqual(Object.keys(JSON.parse(line)), ["ts", "level", "component", "msg", "symbols", "lag_seconds"]);
});

Deno.test("formatLogLine() keeps fields from overriding ts, level, component or msg", () => {
  const parsed = JSON.parse(formatLogLine("json", {
    ts: TS,
    level: "warn",
    component: "consumer",
    message: "real",
    fields: { msg: "fake", level: "debug", ts: 0, component: "x", partition: 2 },
  }));
  assert.deepEqual(parsed, {
    ts: "2025-03-01T12:00:00.250Z",
    level: "warn",
    component: "consumer",
    msg: "real",
    partition: 2,
  });
});

Deno.test("formatLogLine() writes BigInt and Error fields as text, and drops undefined ones", () => {
  const line = formatLogLine("json", {
    ts: TS,
    level: "error",
    component: "consumer",
    message: "write failed",
    fields: { offset: 12n, cause: new Error("disk full"), absent: undefined },
  });
  assert.deepEqual(JSON.parse(line).offset, "12");
  assert.deepEqual(JSON.parse(line).cause, "disk full");
  assert.equal("absent" in JSON.parse(line), false);
});

Deno.test("formatLogLine() in text is the message, with warn and error prefixed by their level", () => {
  const text = (level: "debug" | "info" | "warn" | "error", fields?: Record<string, unknown>) =>
    formatLogLine("text", { ts: TS, level, component: "producer", message: "gap: BTCUSDT ids 5-9 missing", fields });
  assert.equal(text("info"), "gap: BTCUSDT ids 5-9 missing");
  assert.equal(text("debug"), "gap: BTCUSDT ids 5-9 missing");
  assert.equal(text("warn"), "warn: gap: BTCUSDT ids 5-9 missing");
  assert.equal(text("error"), "error: gap: BTCUSDT ids 5-9 missing");
  assert.equal(
    text("info", { symbol: "BTCUSDT", detail: "two words", n: 3, offset: 7n }),
    'gap: BTCUSDT ids 5-9 missing symbol=BTCUSDT detail="two words" n=3 offset=7',
  );
});

Deno.test("createLogger() writes each level through `write`, and drops lines below minLevel", () => {
  const lines: string[] = [];
  const log = createLogger("consumer", { format: "json", write: (line) => lines.push(line), now: () => TS });
  log.debug("hidden");
  log.info("consumer: crypto.trades.v1 from localhost:9092 to data/parquet");
  log.warn("commit refused", { partition: 1 });
  log.error("Cannot write the lake files of partition 0: disk full");
  assert.deepEqual(lines.map((line) => JSON.parse(line).level), ["info", "warn", "error"]);
  assert.deepEqual(JSON.parse(lines[1]!), {
    ts: "2025-03-01T12:00:00.250Z",
    level: "warn",
    component: "consumer",
    msg: "commit refused",
    partition: 1,
  });

  const verbose: string[] = [];
  createLogger("producer", { format: "text", minLevel: "debug", write: (line) => verbose.push(line) }).debug("seen");
  assert.deepEqual(verbose, ["seen"]);
});

Deno.test("logFormatFromEnv() picks text on a terminal and JSON otherwise, unless LOG_FORMAT says", () => {
  assert.equal(logFormatFromEnv(env(), true), "text");
  assert.equal(logFormatFromEnv(env(), false), "json");
  assert.equal(logFormatFromEnv(env({ LOG_FORMAT: "auto" }), false), "json");
  assert.equal(logFormatFromEnv(env({ LOG_FORMAT: "JSON" }), true), "json");
  assert.equal(logFormatFromEnv(env({ LOG_FORMAT: "text" }), false), "text");
  assert.equal(logFormatFromEnv(env({ LOG_FORMAT: " " }), true), "text");
});

Deno.test("logFormatFromEnv() refuses any other LOG_FORMAT with a ConfigError", () => {
  assert.throws(() => logFormatFromEnv(env({ LOG_FORMAT: "yaml" }), true), ConfigError);
  assert.throws(() => logFormatFromEnv(env({ LOG_FORMAT: "yaml" }), true), {
    message: 'LOG_FORMAT="yaml" is invalid: expected auto, json or text',
  });
});

Deno.test("logMessage() reads the message of a JSON log line and leaves other lines alone", () => {
  const progress = "progress: 120 rows/s | 600 rows in 3 files | lag 0 messages, 0.8 s | buffered 12";
  const json = formatLogLine("json", { ts: TS, level: "info", component: "consumer", message: progress });
  assert.equal(logMessage(json), progress);
  assert.equal(logMessage(progress), progress);
  const summary = '{"event":"consumer_summary","rows":600}';
  assert.equal(logMessage(summary), summary);
  assert.equal(logMessage('{"ts": broken'), '{"ts": broken');
});
