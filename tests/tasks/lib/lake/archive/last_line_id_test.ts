import assert from "node:assert/strict";
import { lastLineId } from "../../../../../tasks/lib/lake/archive/hour_pipeline.ts";

Deno.test("lastLineId() reads the id of a run of whole lines' last line", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  assert.equal(lastLineId(bytes("1,2.0,1,2,1700000000000,true\n17,2.0,1,2,1700000000001,false\n")), 17);
  assert.equal(lastLineId(bytes("4,2.0,1,2,1700000000000,true\r\n")), 4);
  assert.equal(lastLineId(bytes("9007199254740991,1,1,1,1,true")), 9007199254740991);
  assert.equal(lastLineId(bytes("x1,1\n")), null);
  assert.equal(lastLineId(bytes("")), null);
  assert.equal(lastLineId(bytes("99999999999999999,1\n")), null);
});
