import assert from "node:assert/strict";
import { checkCsvLine, CsvLineError, detectCsvLayout } from "../../../../../tasks/lib/lake/archive/csv_layout.ts";

const SPOT_MS = "1000000,58000.01000000,0.00123000,71.34001230,1722470400123,True,True";
const SPOT_US = "1000000,58000.01000000,0.00123000,71.34001230,1735689600010866,False,True";
const FUTURES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker";
const FUTURES = "5000,58000.10,0.001,58.0001,1722470400123,true";

Deno.test("detectCsvLayout() reads header, columns and time unit from the file, not the market", () => {
  assert.deepEqual(detectCsvLayout(SPOT_MS, undefined), { hasHeader: false, columns: 7, timeUnit: "ms" });
  assert.deepEqual(detectCsvLayout(SPOT_US, SPOT_US), { hasHeader: false, columns: 7, timeUnit: "us" });
  assert.deepEqual(detectCsvLayout(FUTURES_HEADER, FUTURES), { hasHeader: true, columns: 6, timeUnit: "ms" });
  // a spot-shaped file with a header, and a futures-shaped file without: the file decides
  assert.deepEqual(detectCsvLayout(FUTURES, FUTURES), { hasHeader: false, columns: 6, timeUnit: "ms" });
});

Deno.test("detectCsvLayout() names the line of a file it cannot read", () => {
  assert.throws(
    () => detectCsvLayout("1,2,3", undefined),
    (error) => error instanceof CsvLineError && error.line === 1,
  );
  assert.throws(() => detectCsvLayout(FUTURES_HEADER, undefined), /line 2: the file holds no trade/);
  assert.throws(() => detectCsvLayout(SPOT_MS.replace("1722470400123", "soon"), undefined), /field time/);
});

Deno.test("checkCsvLine() names the field and value that cannot be imported exactly", () => {
  const layout = detectCsvLayout(SPOT_MS, undefined);
  assert.equal(checkCsvLine(SPOT_MS, 3, layout), undefined);
  const cases: [string, string][] = [
    [SPOT_MS.replace("58000.01000000", "58000.010000001"), "line 7, field price"],
    [SPOT_MS.replace("58000.01000000", "abc"), "field price"],
    [SPOT_MS.replace("0.00123000", "0"), "field qty: expected a value above 0"],
    [SPOT_MS.replace("0.00123000", "1e-3"), "field qty"],
    [SPOT_MS.replace("1722470400123", "1735689600010866"), "field time"],
    [SPOT_MS.replace(",True,True", ",yes,True"), "field is_buyer_maker"],
    [SPOT_MS.replace("1000000,", "-1,"), "field id"],
    [SPOT_MS + ",extra", "expected 7 comma-separated fields, got 8"],
  ];
  for (const [line, expected] of cases) {
    const error = checkCsvLine(line, 7, layout);
    assert.ok(error?.message.includes(expected), `${line}: ${error?.message}`);
  }
});
