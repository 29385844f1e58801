import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { dlqMessage, MAX_DLQ_RAW_CHARS } from "../../../../../tasks/lib/ingest/envelope.ts";
import { decodeDlqRecord, UNDECODABLE_DLQ_RECORD } from "../../../../../tasks/lib/lake/dlq/dlq_decode.ts";
import {
  DLQ_COLUMNS,
  dlqDir,
  dlqFileName,
  emptyDlqSelect,
  parseDlqFileName,
  receivedDateOf,
} from "../../../../../tasks/lib/lake/dlq/dlq_schema.ts";
import { DLQ_FILES } from "../../../../../tasks/lib/lake/dlq/dlq_sink.ts";
import { DlqWriter } from "../../../../../tasks/lib/lake/dlq/dlq_writer.ts";
import { removeUncommitted } from "../../../../../tasks/lib/lake/writing/lake_sink.ts";
import { dlqFilesToRead } from "../../../../../tasks/lib/warehouse/builder.ts";
import { makeTestDir } from "../../../../helpers/tasks.ts";

const AT = Date.UTC(2025, 2, 1, 23, 59, 59, 500);
const at = { timestampMs: AT + 5, kafkaPartition: 2, kafkaOffset: 17n };

Deno.test("decodeDlqRecord() reads the producer's record as a producer-stage row", () => {
  const message = dlqMessage(
    '{"e":"trade","s":"BTCUSDT","p":"x"}',
    "invalid_decimal",
    "p: not a decimal",
    AT,
    "BTCUSDT",
  );
  assert.deepEqual(decodeDlqRecord({ value: message.value, ...at }), {
    receivedAtMs: AT,
    reason: "invalid_decimal",
    detail: "p: not a decimal",
    stage: "producer",
    symbol: "BTCUSDT",
    raw: '{"e":"trade","s":"BTCUSDT","p":"x"}',
    rawLength: 35,
    rawTruncated: false,
    sourcePartition: null,
    sourceOffset: null,
    schemaVersion: 1,
    kafkaPartition: 2,
    kafkaOffset: 17n,
  });
});

Deno.test("decodeDlqRecord() reads the consumer's record with its source and stage header", () => {
  const value = JSON.stringify({
    schema_version: 1,
    reason: "malformed_json",
    detail: "Unexpected token",
    received_at_ms: AT,
    raw: "{not json",
    raw_length: 9,
    raw_truncated: false,
    symbol: null,
    source: { topic: "crypto.trades.v1", partition: 4, offset: "9007199254740993" },
  });
  const row = decodeDlqRecord({ value, stageHeader: "consumer", ...at });
  assert.equal(row.stage, "consumer");
  assert.equal(row.sourcePartition, 4);
  assert.equal(row.sourceOffset, 9007199254740993n, "offsets stay exact beyond 2^53");
  assert.equal(row.symbol, null);
  // Without the header, the source alone says the consumer refused it.
  assert.equal(decodeDlqRecord({ value, ...at }).stage, "consumer");
});

Deno.test("decodeDlqRecord() keeps a record it cannot read as undecodable_dlq_record, dated by Kafka", () => {
  const cases: [string | null, RegExp][] = [
    ["{not json", /^malformed JSON/],
    ["[1, 2]", /expected a JSON object/],
    [JSON.stringify({ received_at_ms: AT, raw: "" }), /^reason/],
    [JSON.stringify({ reason: "x", received_at_ms: 1e20, raw: "" }), /^received_at_ms/],
    [JSON.stringify({ reason: "x", received_at_ms: AT, raw: "", source: { partition: 1, offset: -1 } }), /^source/],
    [null, /no value/],
  ];
  for (const [value, detail] of cases) {
    const row = decodeDlqRecord({ value, stageHeader: "weird", ...at });
    assert.equal(row.reason, UNDECODABLE_DLQ_RECORD, String(value));
    assert.match(row.detail, detail);
    assert.equal(row.receivedAtMs, AT + 5);
    assert.equal(row.stage, "unknown", "a header other than producer or consumer is not believed");
    assert.equal(row.raw, value ?? "");
    assert.deepEqual([row.kafkaPartition, row.kafkaOffset], [2, 17n]);
  }
  const huge = "x".repeat(MAX_DLQ_RAW_CHARS + 10);
  const cut = decodeDlqRecord({ value: huge, ...at });
  assert.deepEqual([cut.raw.length, cut.rawLength, cut.rawTruncated], [MAX_DLQ_RAW_CHARS, huge.length, true]);
});

Deno.test("dlqFileName() and parseDlqFileName() round-trip, and dlqDir() dates by received_at in UTC", () => {
  assert.equal(dlqFileName(3, 42n), "dlq-3-00000000000000000042.parquet");
  assert.deepEqual(parseDlqFileName(dlqFileName(3, 42n)), { kafkaPartition: 3, firstOffset: 42n });
  assert.equal(parseDlqFileName("part-3-00000000000000000042.parquet"), undefined, "a trade file is not a DLQ file");
  assert.equal(parseDlqFileName(".dlq-3-00000000000000000042.parquet.tmp"), undefined);
  assert.equal(receivedDateOf(AT), "2025-03-01");
  assert.equal(receivedDateOf(AT + 500), "2025-03-02");
  assert.equal(dlqDir("/lake", "2025-03-01"), "/lake/_dlq/received_date=2025-03-01");
});

Deno.test("emptyDlqSelect() names every DLQ column once with its type", () => {
  assert.equal(new Set(DLQ_COLUMNS.map((c) => c.name)).size, 13);
  assert.match(
    emptyDlqSelect(),
    /^select null::TIMESTAMP as received_at, .* null::BIGINT as kafka_offset where false$/,
  );
});

Deno.test("dlqFilesToRead() reads every DLQ file by glob, or the empty file when there is none", () => {
  assert.deepEqual(dlqFilesToRead("/lake", ["/lake/_dlq/received_date=2025-03-01/dlq-0-0.parquet"], "/db/empty"), [
    "/lake/_dlq/received_date=*/*.parquet",
  ]);
  assert.deepEqual(dlqFilesToRead("/lake", [], "/db/empty.parquet"), ["/db/empty.parquet"]);
});

Deno.test("removeUncommitted() for trades never touches DLQ files, and for the DLQ never touches trade files", async () => {
  const lake = await makeTestDir("lake");
  try {
    const hour = `${lake}/pair=BTCUSDT/trade_date=2025-01-01/hour=00`;
    const day = `${lake}/_dlq/received_date=2025-01-01`;
    await Deno.mkdir(hour, { recursive: true });
    await Deno.mkdir(day, { recursive: true });
    const trades = ["part-1-00000000000000000500.parquet", ".part-1-00000000000000000600.parquet.tmp"];
    const dlq = ["dlq-1-00000000000000000500.parquet", ".dlq-1-00000000000000000600.parquet.tmp"];
    for (const name of trades) await Deno.writeTextFile(`${hour}/${name}`, "");
    for (const name of dlq) await Deno.writeTextFile(`${day}/${name}`, "");
    const removedTrades = await removeUncommitted(lake, 1, 0n);
    assert.deepEqual(removedTrades.map((p) => p.slice(hour.length + 1)).sort(), trades.toSorted());
    assert.deepEqual((await Array.fromAsync(Deno.readDir(day))).map((e) => e.name).sort(), dlq.toSorted());
    for (const name of trades) await Deno.writeTextFile(`${hour}/${name}`, "");
    const removedDlq = await removeUncommitted(`${lake}/_dlq`, 1, 0n, DLQ_FILES);
    assert.deepEqual(removedDlq.map((p) => p.slice(day.length + 1)).sort(), dlq.toSorted());
    assert.deepEqual((await Array.fromAsync(Deno.readDir(hour))).map((e) => e.name).sort(), trades.toSorted());
  } finally {
    await Deno.remove(lake, { recursive: true });
  }
});

Deno.test("DlqWriter writes one file per received date with the DLQ columns, readable by DuckDB", async () => {
  const lake = await makeTestDir("lake");
  const writer = await DlqWriter.open(lake);
  try {
    const producerRow = decodeDlqRecord({ value: dlqMessage("{}", "missing_field", "s", AT, "ETHUSDT").value, ...at });
    const lateRow = decodeDlqRecord({ value: "junk", ...at, timestampMs: AT + 600, kafkaOffset: 18n });
    const { files, rows: written } = await writer.write([producerRow, lateRow], 2, 17n, Date.now());
    const root = await Deno.realPath(lake);
    assert.equal(written, 2);
    assert.deepEqual(files, [
      `${root}/_dlq/received_date=2025-03-01/dlq-2-00000000000000000017.parquet`,
      `${root}/_dlq/received_date=2025-03-02/dlq-2-00000000000000000017.parquet`,
    ]);
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const rows = (await connection.runAndReadAll(
        `select *, typeof(received_at) as t from read_parquet('${root}/_dlq/*/*.parquet', hive_partitioning = true)
         order by kafka_offset`,
      )).getRowObjectsJson();
      assert.deepEqual(rows.map((r) => [r.received_at, r.reason, r.stage, r.symbol, r.received_date, r.t]), [
        ["2025-03-01 23:59:59.5", "missing_field", "producer", "ETHUSDT", "2025-03-01", "TIMESTAMP"],
        ["2025-03-02 00:00:00.1", "undecodable_dlq_record", "unknown", null, "2025-03-02", "TIMESTAMP"],
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  } finally {
    writer.close();
    await Deno.remove(lake, { recursive: true });
  }
});
