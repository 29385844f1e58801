import assert from "node:assert/strict";
import { redact, Secret } from "../../../tasks/lib/secrets.ts";
import { createLogger } from "../../../tasks/lib/log.ts";

Deno.test("Secret: [redacted] in strings, JSON and inspection; reveal() hands out the value", () => {
  const secret = new Secret("hunter2-is-long");
  assert.equal(secret.reveal(), "hunter2-is-long");
  assert.equal(`${secret}`, "[redacted]");
  assert.equal(JSON.stringify({ secret }), '{"secret":"[redacted]"}');
  assert.equal(Deno.inspect({ secret }), "{ secret: [redacted] }");
});

Deno.test("redact(): masks every secret made in the process wherever it appears, also in the logger's lines", () => {
  new Secret("token-abc-123");
  new Secret("abc"); // too short to mask in free text
  assert.equal(
    redact("POST https://h/token-abc-123 failed: token-abc-123"),
    "POST https://h/[redacted] failed: [redacted]",
  );
  assert.equal(redact("abc"), "abc");
  const lines: string[] = [];
  createLogger("test", { format: "json", write: (line) => lines.push(line) }).warn("login as x with token-abc-123");
  assert.ok(lines[0]!.includes("[redacted]") && !lines[0]!.includes("token-abc-123"));
});
