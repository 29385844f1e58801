/** The builder's pure helpers. */
import assert from "node:assert/strict";
import {
  dlqFilesToRead,
  lakeFilesToRead,
  marketOfPath,
  rebuildStart,
} from "../../../../tasks/lib/warehouse/builder.ts";

Deno.test("rebuildStart() rebuilds a DATE-keyed model from the start of the day, others from the start point", () => {
  assert.equal(rebuildStart("2025-03-03 09:55:00", "DATE"), "2025-03-03 00:00:00");
  assert.equal(rebuildStart("2025-03-03 09:55:00", "TIMESTAMP"), "2025-03-03 09:55:00");
  assert.equal(rebuildStart("2025-03-03 00:00:00", "DATE"), "2025-03-03 00:00:00");
});

const file = (path: string, hour: string) => ({ path, bytes: 1, modifiedMs: 1, hourStartMs: Date.parse(`${hour}Z`) });
const SPOT = file("/lake/pair=BTCUSDT/trade_date=2025-03-01/hour=23/part-0-0.parquet", "2025-03-01T23:00:00");
const USDM = file("/lake/_usdm/pair=BTCUSDT/trade_date=2025-03-02/hour=00/part-0-0.parquet", "2025-03-02T00:00:00");

Deno.test("marketOfPath() tells a file's market by its dataset folder: _usdm usdm, the lake's root spot", () => {
  assert.equal(marketOfPath("/lake", SPOT.path), "spot");
  assert.equal(marketOfPath("/lake", USDM.path), "usdm");
  assert.equal(marketOfPath("/lake/", "/lake/_usdm/_dlq/received_date=2025-03-01/dlq-0-0.parquet"), "usdm");
  assert.equal(marketOfPath("/lake", "/lake/_usdmx/pair=A/trade_date=2025-03-01/hour=00/f.parquet"), "spot");
});

Deno.test("lakeFilesToRead() globs only the markets that have files in full, and lists the changed hours' files", () => {
  const spotGlob = "/lake/pair=*/trade_date=*/hour=*/*.parquet";
  const usdmGlob = "/lake/_usdm/pair=*/trade_date=*/hour=*/*.parquet";
  // a lake without futures files reads no _usdm glob, which would match nothing and fail
  assert.deepEqual(lakeFilesToRead("/lake", [SPOT]), [spotGlob]);
  assert.deepEqual(lakeFilesToRead("/lake", [USDM]), [usdmGlob]);
  assert.deepEqual(lakeFilesToRead("/lake", [SPOT, USDM]), [spotGlob, usdmGlob]);
  assert.deepEqual(lakeFilesToRead("/lake", [SPOT, USDM], "2025-03-02 00:00:00"), [USDM.path]);
  assert.deepEqual(lakeFilesToRead("/lake", [SPOT, USDM], "2025-03-01 23:55:00"), [SPOT.path, USDM.path]);
});

Deno.test("dlqFilesToRead() globs each market's _dlq that has files, or reads the empty file", () => {
  const usdmDlq = "/lake/_usdm/_dlq/received_date=2025-03-01/dlq-0-0.parquet";
  assert.deepEqual(dlqFilesToRead("/lake", [usdmDlq], "/db/empty.parquet"), [
    "/lake/_usdm/_dlq/received_date=*/*.parquet",
  ]);
  assert.deepEqual(
    dlqFilesToRead("/lake", ["/lake/_dlq/received_date=2025-03-01/dlq-0-0.parquet", usdmDlq], "/db/empty.parquet"),
    ["/lake/_dlq/received_date=*/*.parquet", "/lake/_usdm/_dlq/received_date=*/*.parquet"],
  );
  assert.deepEqual(dlqFilesToRead("/lake", [], "/db/empty.parquet"), ["/db/empty.parquet"]);
});
