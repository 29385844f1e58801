import assert from "node:assert/strict";
import { LineScanner } from "../../../../../tasks/lib/lake/archive/unzip_csv.ts";

/** Scans `text` cut into chunks at every `step` bytes; what it found. */
function scan(text: string, step: number) {
  const bytes = new TextEncoder().encode(text);
  const scanner = new LineScanner();
  for (let at = 0; at < bytes.length; at += step) scanner.scan(bytes.subarray(at, at + step));
  scanner.finish();
  const { lines, idsIncreasing, firstInexactLine } = scanner;
  return { lines, idsIncreasing, firstInexactLine, firstLines: scanner.firstLines };
}

const LINE = (id: number, price = "10.12345678") => `${id},${price},0.5,5.0,1722470400000,True,True\n`;

Deno.test("LineScanner counts lines and follows ids whatever the chunks", () => {
  const text = "id,price,qty,quote_qty,time,is_buyer_maker\n" + LINE(1) + LINE(2) + LINE(3).trimEnd();
  for (const step of [1, 2, 7, 64, 4096]) {
    assert.deepEqual(scan(text, step), {
      lines: 4,
      idsIncreasing: true,
      firstInexactLine: undefined,
      firstLines: ["id,price,qty,quote_qty,time,is_buyer_maker", LINE(1).trimEnd()],
    }, `chunks of ${step}`);
  }
});

Deno.test("LineScanner finds the first amount DuckDB would round or misread, and ids going down", () => {
  for (const step of [1, 5, 4096]) {
    const rounded = scan(LINE(1) + LINE(2, "10.123456789") + LINE(3, "1e5"), step);
    assert.equal(rounded.firstInexactLine, 2, `chunks of ${step}`);
    assert.equal(scan(LINE(1) + LINE(2, "1e5"), step).firstInexactLine, 2);
    assert.equal(scan(LINE(1) + "2,10.5\n", step).firstInexactLine, 2, "a line without a quantity");
    assert.equal(scan(LINE(2) + LINE(1), step).idsIncreasing, false);
  }
});
