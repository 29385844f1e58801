import assert from "node:assert/strict";
import { formatUnits, multiplyUnits, parseUnits } from "../../../tasks/lib/decimal.ts";

Deno.test("formatUnits() shows 8 decimals as Binance spot does", () => {
  assert.equal(formatUnits(6723401000000n), "67234.01000000");
  assert.equal(formatUnits(150000n), "0.00150000");
  assert.equal(formatUnits(0n), "0.00000000");
  assert.equal(formatUnits(1n), "0.00000001");
  assert.equal(formatUnits(-500000000n), "-5.00000000");
  assert.equal(formatUnits(123456789012345678901234n), "1234567890123456.78901234");
});

Deno.test("parseUnits() reads plain decimals exactly and round-trips with formatUnits()", () => {
  assert.equal(parseUnits("67234.01"), 6723401000000n);
  assert.equal(parseUnits("0.0015"), 150000n);
  assert.equal(parseUnits("3"), 300000000n);
  assert.equal(parseUnits("3."), 300000000n);
  for (const text of ["0.00000001", "60000.64000000", "99999999999.99999999"]) {
    assert.equal(formatUnits(parseUnits(text)), text);
  }
});

Deno.test("parseUnits() refuses signs, exponents and more than 8 decimals", () => {
  for (const text of ["-1", "1e5", "0.000000001", "", ".5", "1,5", "NaN"]) {
    assert.throws(() => parseUnits(text), SyntaxError, text);
  }
});

Deno.test("multiplyUnits() is exact to 8 decimals and truncates the rest", () => {
  assert.equal(formatUnits(multiplyUnits(parseUnits("60000.64"), parseUnits("0.00014"))), "8.40008960");
  // 0.33333333 × 0.33333333 = 0.1111111088888889 → truncated, not rounded
  assert.equal(formatUnits(multiplyUnits(parseUnits("0.33333333"), parseUnits("0.33333333"))), "0.11111110");
});
