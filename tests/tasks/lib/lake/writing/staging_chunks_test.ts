import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseUnits } from "../../../../../tasks/lib/decimal.ts";
import type { LakeRow } from "../../../../../tasks/lib/lake/decoding/decode.ts";
import { hivePartitionOf } from "../../../../../tasks/lib/lake/storage/partition.ts";
import { CHUNK_ROWS, STAGING_COLUMNS, stagingChunks } from "../../../../../tasks/lib/lake/writing/staging_chunks.ts";
import { TradeColumns, writeDecimalUnits } from "../../../../../tasks/lib/lake/decoding/trade_columns.ts";

const unitsAt = (words: Uint32Array, at: number) =>
  new BigUint64Array(words.buffer, words.byteOffset + at * 4, 2).reduce((sum, word, i) =>
    sum + (word << BigInt(64 * i))
  );

Deno.test("writeDecimalUnits() writes exact 128-bit units, through a BigInt only for large values", () => {
  const words = new Uint32Array(8).fill(0xdeadbeef);
  for (
    const text of [
      "67234.01000000",
      "0.00000001",
      "1",
      "9999999.99999999", // the largest value kept in a number
      "10000000", // the smallest that is not
      "000000000012.5",
      "999999999999.99999999", // DECIMAL(20, 8)'s largest
      "184467440737.09551616", // 2⁶⁴ units: the upper word in use
      "0.1",
    ]
  ) {
    writeDecimalUnits(text, words, 4);
    assert.equal(unitsAt(words, 4), parseUnits(text), text);
    assert.equal(words[0], 0xdeadbeef, "writes only its own four words");
  }
});

Deno.test("stagingChunks() fills DuckDB chunks with exactly the rows' values, nulls and partitions included", async () => {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const definitions = STAGING_COLUMNS.map(([name, type]) => `${name} ${type.toString()}`).join(", ");
    await connection.run(`create table staging (${definitions})`);
    // More than two chunks, with the nullable columns null in some rows, and v2 rows with a producer only later.
    const rows: LakeRow[] = Array.from({ length: CHUNK_ROWS * 2 + 77 }, (_, i) => {
      const tradeTimeUs = 1_700_000_000_000_000 + i * 1_001;
      return {
        partition: hivePartitionOf(i % 13 === 5 ? "ETHUSDT" : "BTCUSDT", tradeTimeUs),
        tradeId: 9_000_000_000_000 + i,
        price: i % 5 === 0 ? "123456789012.34567891" : `${60_000 + i}.${String(i % 100).padStart(2, "0")}`,
        quantity: i % 7 === 0 ? "5" : `0.${String(i).padStart(8, "0")}`,
        tradeTimeUs,
        eventTimeUs: i % 3 === 0 ? null : tradeTimeUs + 5,
        timeUnit: i % 2 === 0 ? "us" : "ms",
        isBuyerMaker: i % 4 === 1,
        isBestMatch: i % 11 === 0 ? null : i % 2 === 0,
        ingestedAtMs: 1_700_000_000_100 + i,
        isBackfilled: i % 3 === 0,
        schemaVersion: i > CHUNK_ROWS * 2 ? 2 : 1,
        producerId: i > CHUNK_ROWS * 2 ? `p-${i % 3}` : null,
        kafkaPartition: 0,
        kafkaOffset: 10_000_000_000n + BigInt(i),
      };
    });
    const appender = await connection.createAppender("staging");
    const columns = TradeColumns.of(rows);
    assert.deepEqual(columns.partitions.map((p) => p.pair), ["BTCUSDT", "ETHUSDT"]);
    for (const chunk of stagingChunks(columns)) appender.appendDataChunk(chunk);
    appender.flushSync();
    appender.closeSync();

    const reader = await connection.runAndReadAll(
      `select trade_id::bigint::varchar, price::varchar, quantity::varchar, trade_time_us::bigint::varchar,
              event_time_us::bigint::varchar, time_unit_is_us, is_buyer_maker, is_best_match,
              ingested_at_ms::bigint::varchar, is_backfilled, schema_version, producer_id, kafka_offset::varchar,
              partition_index
       from staging order by kafka_offset`,
    );
    const exact = (text: string) => {
      const [whole, fraction = ""] = text.split(".");
      return `${BigInt(whole!)}.${fraction.padEnd(8, "0")}`;
    };
    assert.deepEqual(
      reader.getRows(),
      rows.map((row) => [
        String(row.tradeId),
        exact(row.price),
        exact(row.quantity),
        String(row.tradeTimeUs),
        row.eventTimeUs === null ? null : String(row.eventTimeUs),
        row.timeUnit === "us",
        row.isBuyerMaker,
        row.isBestMatch,
        String(row.ingestedAtMs),
        row.isBackfilled,
        row.schemaVersion,
        row.producerId,
        String(row.kafkaOffset),
        row.partition.pair === "BTCUSDT" ? 0 : 1,
      ]),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
});
