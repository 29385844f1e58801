import assert from "node:assert/strict";
import { archiveKlines, archiveMadeTrades, archiveTrades } from "../../../../tasks/lib/exchange/archive_trades.ts";
import { dayStartUs } from "../../../../tasks/lib/exchange/archive_paths.ts";

const options = {
  seed: 7,
  startId: 100,
  archiveTimeUnit: "auto",
  archive: { from: "2024-12-30", to: "2025-01-02", tradesPerDay: 700 },
} as const;

Deno.test("archiveTrades() is the same for the same seed, symbol and day, and differs otherwise", () => {
  const once = [...archiveTrades(options, "BTCUSDT", "2024-12-31")];
  assert.deepEqual([...archiveTrades(options, "BTCUSDT", "2024-12-31")], once);
  const otherSeed = [...archiveTrades({ ...options, seed: 8 }, "BTCUSDT", "2024-12-31")];
  assert.notDeepEqual(otherSeed.map((trade) => trade.price), once.map((trade) => trade.price));
  const otherDay = [...archiveTrades(options, "BTCUSDT", "2025-01-01")];
  assert.notDeepEqual(otherDay.map((trade) => trade.price), once.map((trade) => trade.price));
});

Deno.test("archiveTrades() runs ids on across days from startId", () => {
  const ids = ["2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02"]
    .flatMap((day) => [...archiveTrades(options, "ETHUSDT", day)].map((trade) => trade.id));
  assert.deepEqual(ids, ids.map((_, i) => 100 + i));
});

Deno.test("archiveTrades() spreads times strictly inside the UTC day, never decreasing, whole ms before 2025", () => {
  for (const day of ["2024-12-31", "2025-01-01"]) {
    const times = [...archiveTrades(options, "BTCUSDT", day)].map((trade) => trade.timeUs);
    assert.equal(times.length, 700);
    assert.ok(times[0]! >= dayStartUs(day) && times.at(-1)! < dayStartUs(day) + 86_400_000_000, day);
    assert.ok(times.every((time, i) => i === 0 || time >= times[i - 1]!), `${day} times never decrease`);
    if (day < "2025") assert.ok(times.every((time) => time % 1000 === 0), "whole milliseconds");
    else assert.ok(times.some((time) => time % 1000 !== 0), "microseconds");
  }
});

Deno.test("archiveTrades() throws RangeError outside the generated days", () => {
  assert.throws(() => [...archiveTrades(options, "BTCUSDT", "2024-12-29")], RangeError);
  assert.throws(() => [...archiveTrades({ ...options, archive: undefined }, "BTCUSDT", "2024-12-30")], RangeError);
});

Deno.test("archiveKlines() has the day's trades in its 1-minute klines, in the file's unit", () => {
  const klines = archiveKlines(options, "BTCUSDT", "2025-01-01");
  assert.equal(klines.reduce((sum, row) => sum + row[8], 0), 700);
  const first = archiveTrades(options, "BTCUSDT", "2025-01-01").next().value!;
  assert.equal(klines[0]![0], Math.floor(first.timeUs / 60_000_000) * 60_000_000, "µs open time");
  const before = archiveKlines(options, "BTCUSDT", "2024-12-31")[0]![0];
  assert.ok(before >= dayStartUs("2024-12-31") / 1000 && before < dayStartUs("2025-01-01") / 1000, "ms open time");
});

Deno.test("archiveTrades() on usdm lists only MARKET trades: the ids skip the non-market ones the market made", () => {
  const usdm = { ...options, market: "usdm" as const, nonMarketRate: 0.05 };
  const made = [...archiveMadeTrades(usdm, "BTCUSDT", "2025-01-01")];
  assert.deepEqual(made.map((trade) => trade.id), made.map((_, i) => 100 + 2 * 700 + i), "made ids are contiguous");
  const listed = [...archiveTrades(usdm, "BTCUSDT", "2025-01-01")];
  const skipped = made.filter((trade) => trade.tradeType !== "MARKET").map((trade) => trade.id);
  assert.ok(skipped.length > 10, `${skipped.length} non-market trades`);
  assert.deepEqual(
    listed.map((trade) => trade.id),
    made.filter((trade) => trade.tradeType === "MARKET").map((t) => t.id),
  );
  assert.ok(listed.every((trade) => trade.timeUs % 1000 === 0), "futures files are in milliseconds");
  const klines = archiveKlines(usdm, "BTCUSDT", "2025-01-01");
  assert.equal(klines.reduce((sum, row) => sum + row[8], 0), listed.length, "klines count only the listed trades");
});
