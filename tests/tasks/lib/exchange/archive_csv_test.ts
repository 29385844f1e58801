import assert from "node:assert/strict";
import { archiveCsvHeader, archiveCsvLine } from "../../../../tasks/lib/exchange/archive_csv.ts";
import type { Trade } from "../../../../tasks/lib/exchange/market.ts";

const trade: Trade = {
  symbol: "BTCUSDT",
  id: 1_000_000,
  price: 5_800_001_000_000n,
  qty: 123_000n,
  quoteQty: 7_134_001_230n,
  timeUs: 1_722_470_400_123_456,
  eventTimeUs: 1_722_470_400_123_456,
  isBuyerMaker: true,
};

Deno.test("archiveCsvLine() writes a spot line: 7 columns, 8 decimals, True/False, time in the file's unit", () => {
  const spot = { header: false, unit: "ms" } as const;
  assert.equal(archiveCsvLine(trade, spot), "1000000,58000.01000000,0.00123000,71.34001230,1722470400123,True,True\n");
  assert.equal(
    archiveCsvLine({ ...trade, isBuyerMaker: false }, { header: false, unit: "us" }),
    "1000000,58000.01000000,0.00123000,71.34001230,1722470400123456,False,True\n",
  );
  assert.equal(archiveCsvHeader(spot), "");
});

Deno.test("archiveCsvLine() writes a futures line: 6 columns and lower-case booleans under a header", () => {
  const futures = { header: true, unit: "ms" } as const;
  assert.equal(archiveCsvHeader(futures), "id,price,qty,quote_qty,time,is_buyer_maker\n");
  assert.equal(archiveCsvLine(trade, futures), "1000000,58000.01000000,0.00123000,71.34001230,1722470400123,true\n");
  assert.equal(
    archiveCsvLine({ ...trade, isBuyerMaker: false }, futures),
    "1000000,58000.01000000,0.00123000,71.34001230,1722470400123,false\n",
  );
});
