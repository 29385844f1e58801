import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { LakeWriter } from "../../../../../tasks/lib/lake/writing/parquet_writer.ts";
import { lakeRow } from "../../../../helpers/lake.ts";
import { makeTestDir } from "../../../../helpers/tasks.ts";

Deno.test("LakeWriter writes trade_type and source_prev_trade_id, null where a row has none", async () => {
  const lakeDir = await makeTestDir("lake-columns");
  const base = { pair: "BTCUSDT", price: "37000.1", qty: "0.002", timeMs: 1_700_000_000_000 };
  const rows = [
    { ...lakeRow({ ...base, id: 10 }, 0), tradeType: "MARKET" as const },
    { ...lakeRow({ ...base, id: 11 }, 1), tradeType: "INSURANCE_FUND" as const },
    { ...lakeRow({ ...base, id: 12 }, 2), tradeType: "ADL" as const },
    { ...lakeRow({ ...base, id: 13, backfilled: true }, 3), tradeType: "NA" as const, sourcePrevTradeId: 12 },
    lakeRow({ ...base, id: 14 }, 4),
  ];
  const writer = await LakeWriter.open(lakeDir);
  try {
    await writer.write(rows, 0, 0n, Date.now());
  } finally {
    writer.close();
  }
  const reader = await DuckDBInstance.create(":memory:", { threads: "1" });
  const connection = await reader.connect();
  try {
    const result = await connection.runAndReadAll(
      `select trade_id::integer, trade_type, source_prev_trade_id::integer, typeof(trade_type), typeof(source_prev_trade_id)
       from read_parquet('${lakeDir}/pair=*/*/*/*.parquet') order by trade_id`,
    );
    assert.deepEqual(result.getRows(), [
      [10, "MARKET", null, "VARCHAR", "BIGINT"],
      [11, "INSURANCE_FUND", null, "VARCHAR", "BIGINT"],
      [12, "ADL", null, "VARCHAR", "BIGINT"],
      [13, "NA", 12, "VARCHAR", "BIGINT"],
      [14, null, null, "VARCHAR", "BIGINT"],
    ]);
  } finally {
    connection.closeSync();
    reader.closeSync();
    await Deno.remove(lakeDir, { recursive: true });
  }
});
