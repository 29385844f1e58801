/** The builder's pure helpers. */
import assert from "node:assert/strict";
import { rebuildStart } from "../../../../tasks/lib/warehouse/builder.ts";

Deno.test("rebuildStart() rebuilds a DATE-keyed model from the start of the day, others from the start point", () => {
  assert.equal(rebuildStart("2025-03-03 09:55:00", "DATE"), "2025-03-03 00:00:00");
  assert.equal(rebuildStart("2025-03-03 09:55:00", "TIMESTAMP"), "2025-03-03 09:55:00");
  assert.equal(rebuildStart("2025-03-03 00:00:00", "DATE"), "2025-03-03 00:00:00");
});
