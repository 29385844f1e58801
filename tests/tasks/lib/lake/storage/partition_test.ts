import assert from "node:assert/strict";
import {
  hivePartitionOf,
  lakeFileName,
  parseLakeFileName,
  partitionDir,
} from "../../../../../tasks/lib/lake/storage/partition.ts";

Deno.test("hivePartitionOf() dates a trade by its trade time in UTC", () => {
  assert.deepEqual(hivePartitionOf("BTCUSDT", 1_700_000_000_120_000), {
    pair: "BTCUSDT",
    tradeDate: "2023-11-14",
    hour: 22,
  });
  assert.deepEqual(hivePartitionOf("ETHUSDT", Date.UTC(2024, 0, 1, 23, 59, 59, 999) * 1000 + 999), {
    pair: "ETHUSDT",
    tradeDate: "2024-01-01",
    hour: 23,
  });
});

Deno.test("hivePartitionOf() stays right when hours alternate, around midnight and before 1970", () => {
  const at = (iso: string) => Date.parse(iso) * 1000;
  const cases: [string, string, number][] = [
    ["2024-01-01T23:59:59.999Z", "2024-01-01", 23],
    ["2024-01-02T00:00:00.000Z", "2024-01-02", 0],
    ["2024-01-01T23:00:00.000Z", "2024-01-01", 23],
    ["2024-01-02T00:30:00.000Z", "2024-01-02", 0],
    ["1969-12-31T23:59:59.999Z", "1969-12-31", 23],
  ];
  for (const [iso, tradeDate, hour] of [...cases, ...cases]) {
    assert.deepEqual(hivePartitionOf("BTCUSDT", at(iso)), { pair: "BTCUSDT", tradeDate, hour }, iso);
  }
  assert.throws(() => hivePartitionOf("BTCUSDT", 8.64e15 * 1000 + 3.6e9), RangeError);
});

Deno.test("hivePartitionOf() refuses symbols that could escape the lake", () => {
  for (const symbol of ["../../x", "BTC/USDT", "", "btcusdt", "A"]) {
    assert.throws(() => hivePartitionOf(symbol, 0), RangeError, symbol);
  }
});

Deno.test("partitionDir() and lakeFileName() build the Hive layout and deterministic names", () => {
  assert.equal(
    partitionDir("/lake", { pair: "BTCUSDT", tradeDate: "2024-01-01", hour: 7 }),
    "/lake/pair=BTCUSDT/trade_date=2024-01-01/hour=07",
  );
  assert.equal(lakeFileName(2, 1234n), "part-2-00000000000000001234.parquet");
  assert.deepEqual(parseLakeFileName("part-2-00000000000000001234.parquet"), { kafkaPartition: 2, firstOffset: 1234n });
  assert.equal(parseLakeFileName(".part-2-00000000000000001234.parquet.tmp"), undefined);
  assert.equal(parseLakeFileName("compacted.parquet"), undefined);
});
