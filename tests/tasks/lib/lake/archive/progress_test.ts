import assert from "node:assert/strict";
import { bar, fileLine, overallLine, TerminalProgress } from "../../../../../tasks/lib/lake/archive/progress.ts";

Deno.test("bar() fills in proportion and clamps", () => {
  assert.equal(bar(0.5, 10), "[#####.....]  50%");
  assert.equal(bar(2, 4), "[####] 100%");
  assert.equal(bar(Number.NaN, 4), "[....]   0%");
});

Deno.test("overallLine() and fileLine() show counts, rate and ETA", () => {
  assert.match(overallLine(1, 4, 2_000_000, 2), /1\/4 files, 2,000,000 trades, 1,000,000 trades\/s, ETA 6 s/);
  assert.match(
    fileLine("X.zip", "downloading", 5e6, 1e7, 1),
    /X.zip: downloading .* 5.0 MB of 10.0 MB, 5.0 MB\/s, ETA 1 s/,
  );
});

Deno.test("TerminalProgress writes plain throttled lines when not on a terminal", () => {
  const lines: string[] = [];
  const progress = new TerminalProgress(false, (text) => lines.push(text), 60_000);
  progress.start(1);
  progress.file("X.zip", "downloading", 1, 10);
  progress.file("X.zip", "downloading", 2, 10); // throttled
  progress.file("X.zip", "unzipping");
  progress.fileDone("X.zip", 5);
  progress.end();
  assert.equal(lines.length, 3);
  assert.ok(lines.every((line) => line.startsWith("import: ") && !line.includes("\x1b")));
});
