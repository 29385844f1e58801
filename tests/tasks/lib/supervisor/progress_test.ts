import assert from "node:assert/strict";
import { isRefreshOutcome, parseLag } from "../../../../tasks/lib/supervisor/progress.ts";

Deno.test("parseLag() reads the lag of the consumer's and the producer's progress lines", () => {
  assert.deepEqual(
    parseLag("progress: 59 rows/s | 295 rows in 8 files | lag 12 messages, 0.8 s | buffered 7"),
    { messages: 12, seconds: 0.8 },
  );
  assert.deepEqual(
    parseLag("progress: 0 rows/s | 0 rows in 0 files | lag 0 messages, n/a | buffered 0"),
    { messages: 0, seconds: null },
  );
  assert.deepEqual(
    parseLag(
      "progress: BTCUSDT 8/s, ETHUSDT 12/s | dlq 0 | reconnects 0 | gaps found 0 healed 0 open 0 | lag 0.1 s | queue 1",
    ),
    { seconds: 0.1 },
  );
  assert.equal(parseLag("consumer: crypto.trades.v1 from localhost:9092 to data/parquet"), undefined);
  assert.equal(parseLag("kafkajs ERROR [Connection] … lag 5 messages, 1 s |"), undefined);
});

Deno.test("isRefreshOutcome() picks the refresh's summary, skip and error lines, not its model lines", () => {
  assert.ok(isRefreshOutcome("refresh: incremental, lake unchanged: 12 models, tests 130 passed, 0 failed, …"));
  assert.ok(isRefreshOutcome("refresh: another refresh is running (data/duckdb/crypto.duckdb.lock); leaving it"));
  assert.ok(isRefreshOutcome('refresh: DUCKDB_PATH="" is invalid: expected a file system path'));
  assert.equal(isRefreshOutcome("  staging.stg_trades                   full                 40 rows 0.05 s"), false);
});
