import assert from "node:assert/strict";
import { csvTimeToMicros, parseTradeCsv, parseTradeCsvLine } from "../../../../tasks/lib/exchange/csv.ts";
import { formatUnits } from "../../../../tasks/lib/decimal.ts";

Deno.test("parseTradeCsvLine() reads a millisecond line of a 2024 spot file", () => {
  const trade = parseTradeCsvLine(
    "3345436107,42283.58000000,0.00026000,10.99373080,1704067200098,True,True",
    "BTCUSDT",
  );
  assert.equal(trade.id, 3345436107);
  assert.equal(formatUnits(trade.price), "42283.58000000");
  assert.equal(formatUnits(trade.qty), "0.00026000");
  assert.equal(formatUnits(trade.quoteQty), "10.99373080");
  assert.equal(trade.timeUs, 1704067200098_000);
  assert.equal(trade.eventTimeUs, trade.timeUs);
  assert.equal(trade.isBuyerMaker, true);
});

Deno.test("parseTradeCsvLine() reads a microsecond line of a 2025 spot file", () => {
  const trade = parseTradeCsvLine(
    "4375185450,93576.00000000,0.00011,10.29336,1735689600010866,false,true\r",
    "BTCUSDT",
  );
  assert.equal(trade.timeUs, 1735689600010866);
  assert.equal(trade.isBuyerMaker, false);
});

Deno.test("csvTimeToMicros() tells ms from µs by size", () => {
  assert.equal(csvTimeToMicros(1735689600010), 1735689600010_000);
  assert.equal(csvTimeToMicros(1735689600010866), 1735689600010866);
});

Deno.test("parseTradeCsv() skips a header and blank lines and reports bad lines by number", () => {
  const text = [
    "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match",
    "1,100.0,1.0,100.0,1704067200000,True,True",
    "",
    "2,-5,1.0,100.0,1704067200001,True,True",
    "3,100.0,1.0,100.0,1704067200002,maybe,True",
    "4,100.0,0,0,1704067200003,False,True",
    "5,100.0,1.0",
    "6,100.0,1.0,100.0,1704067200004,False,True",
  ].join("\n");
  const { trades, errors } = parseTradeCsv(text, "BTCUSDT");
  assert.deepEqual(trades.map((t) => t.id), [1, 6]);
  assert.deepEqual(errors, [
    { line: 4, message: 'Cannot parse price: expected a decimal with at most 8 decimals, got "-5"' },
    { line: 5, message: 'Cannot parse is_buyer_maker: expected True or False, got "maybe"' },
    { line: 6, message: 'Cannot parse qty: expected a value above 0, got "0"' },
    { line: 7, message: "Cannot parse trade: expected 7 comma-separated fields, got 3" },
  ]);
});
