import assert from "node:assert/strict";
import { archiveFaultFor, parseArchiveFault, wrongSha256 } from "../../../../tasks/lib/exchange/archive_faults.ts";

Deno.test("parseArchiveFault() reads kind:DATE for a day, a month or every file", () => {
  assert.deepEqual(parseArchiveFault("wrong_checksum:2024-08-02"), ["2024-08-02", "wrong_checksum"]);
  assert.deepEqual(parseArchiveFault("drop:2024-08"), ["2024-08", "drop"]);
  assert.deepEqual(parseArchiveFault("slow:*"), ["*", "slow"]);
  for (const bad of ["wrong_checksum", "boom:2024-08-02", "drop:2024-13-01", "drop:", "not_found:yesterday"]) {
    assert.throws(() => parseArchiveFault(bad), SyntaxError, bad);
  }
});

Deno.test("archiveFaultFor() prefers the file's own date over *", () => {
  const faults = { "2024-08-02": "truncated", "*": "slow" } as const;
  assert.equal(archiveFaultFor(faults, "2024-08-02"), "truncated");
  assert.equal(archiveFaultFor(faults, "2024-08-03"), "slow");
  assert.equal(archiveFaultFor({ "2024-08": "drop" }, "2024-08-02"), undefined);
  assert.equal(archiveFaultFor({ "2024-08": "drop" }, "2024-08"), "drop");
});

Deno.test("wrongSha256() differs in every digit and still looks like a sha256", () => {
  const sha = "0123456789abcdef".repeat(4);
  const wrong = wrongSha256(sha);
  assert.match(wrong, /^[0-9a-f]{64}$/);
  assert.ok([...wrong].every((digit, i) => digit !== sha[i]));
});
