import assert from "node:assert/strict";
import { type HourPiece, HourSplitter } from "../../../../../tasks/lib/lake/archive/hour_parts.ts";

const MS_PER_HOUR = 3_600_000;
/** 2024-08-01 00:00 UTC in ms, and its hour number. */
const DAY_MS = 1722470400000;
const HOUR = DAY_MS / MS_PER_HOUR;

function line(id: number, timeMs: number): string {
  return `${id},10.00000000,1.00000000,10.00000000,${timeMs},True,True\n`;
}

/** Feeds `text` cut at `cuts`, and returns the pieces as (hour offset, text), pieces of one hour joined. */
function split(text: string, cuts: number[] = []): { hours: [number, string][]; sorted: boolean } {
  const bytes = new TextEncoder().encode(text);
  const splitter = new HourSplitter(MS_PER_HOUR);
  const pieces: HourPiece[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(...splitter.push(bytes.subarray(from, cut)));
    from = cut;
  }
  pieces.push(...splitter.end());
  const hours: [number, string][] = [];
  for (const piece of pieces) {
    const text = new TextDecoder().decode(piece.bytes);
    const last = hours.at(-1);
    if (last && last[0] === piece.hour - HOUR) last[1] += text;
    else hours.push([piece.hour - HOUR, text]);
  }
  return { hours, sorted: splitter.sorted };
}

Deno.test("HourSplitter cuts lines at each change of hour, whatever the chunks", () => {
  const a = line(1, DAY_MS + 5);
  const b = line(2, DAY_MS + MS_PER_HOUR - 1);
  const c = line(3, DAY_MS + MS_PER_HOUR);
  const d = line(4, DAY_MS + 5 * MS_PER_HOUR + 7);
  const text = a + b + c + d;
  const expected = [[0, a + b], [1, c], [5, d]];
  assert.deepEqual(split(text), { hours: expected, sorted: true });
  for (let cut = 1; cut < text.length; cut += 7) {
    assert.deepEqual(split(text, [cut]).hours, expected, `cut at ${cut}`);
    assert.deepEqual(split(text, [cut, Math.min(text.length, cut + 3)]).hours, expected, `cuts at ${cut}, +3`);
  }
});

Deno.test("HourSplitter keeps a last line without its line end", () => {
  const text = line(1, DAY_MS) + line(2, DAY_MS + MS_PER_HOUR).trimEnd();
  assert.deepEqual(split(text, [10]).hours, [[0, line(1, DAY_MS)], [1, line(2, DAY_MS + MS_PER_HOUR).trimEnd()]]);
});

Deno.test("HourSplitter leaves a line whose time cannot be read in the hour around it", () => {
  const bad = "3,10.0,1.0,10.0,soon,True,True\n";
  const text = line(1, DAY_MS) + bad + line(2, DAY_MS + 1);
  assert.deepEqual(split(text).hours, [[0, text]]);
  // At the very start it goes with the first hour found after it.
  assert.deepEqual(split(bad + line(2, DAY_MS + MS_PER_HOUR)).hours, [[1, bad + line(2, DAY_MS + MS_PER_HOUR)]]);
});

Deno.test("HourSplitter says when times go back to an earlier hour", () => {
  const [a, b, c] = [line(1, DAY_MS), line(2, DAY_MS + 24 * MS_PER_HOUR), line(3, DAY_MS + 1)];
  const { hours, sorted } = split(a + b + c, [(a + b).length]);
  assert.equal(sorted, false);
  assert.deepEqual(hours, [[0, a], [24, b], [0, c]]);
});

Deno.test("HourSplitter looks only at a chunk's last line while its hour has not changed", () => {
  // A line of another hour between two of this one stays with them: the hour's statement refuses it (import_sql.ts).
  const [a, b, c] = [line(1, DAY_MS), line(2, DAY_MS + 24 * MS_PER_HOUR), line(3, DAY_MS + 1)];
  assert.deepEqual(split(a + b + c), { hours: [[0, a + b + c]], sorted: true });
});

Deno.test("HourSplitter reads microsecond times with its unit", () => {
  const splitter = new HourSplitter(MS_PER_HOUR * 1000);
  const text = `1,1.0,1.0,1.0,${DAY_MS * 1000 + 1},True,True\n2,1.0,1.0,1.0,${
    (DAY_MS + MS_PER_HOUR) * 1000
  },True,True\n`;
  const pieces = splitter.push(new TextEncoder().encode(text));
  assert.deepEqual(pieces.map((piece) => piece.hour - HOUR), [0, 1]);
});
