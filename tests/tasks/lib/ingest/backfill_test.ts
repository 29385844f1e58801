import assert from "node:assert/strict";
import { fetchHistoricalTrades, planHeal, RateLimitedError } from "../../../../tasks/lib/ingest/backfill.ts";

const row = (id: number) => ({
  id,
  price: "1.00000000",
  qty: "2.00000000",
  time: 1000 + id,
  isBuyerMaker: true,
  isBestMatch: true,
});

Deno.test("planHeal() keeps the trades inside the gap", () => {
  const gap = { from: 10, to: 12, firstSeenMs: 0 };
  assert.deepEqual(planHeal(gap, [10, 11, 12, 13].map(row)), { trades: [10, 11, 12].map(row) });
});

Deno.test("planHeal() marks a leading range the exchange no longer serves", () => {
  const gap = { from: 10, to: 20, firstSeenMs: 5 };
  assert.deepEqual(planHeal(gap, [15, 16].map(row)), {
    trades: [15, 16].map(row),
    unavailable: { from: 10, to: 14, firstSeenMs: 5 },
  });
  assert.deepEqual(planHeal(gap, [30].map(row)).unavailable, { from: 10, to: 20, firstSeenMs: 5 });
  assert.deepEqual(planHeal(gap, []), { trades: [] }, "an empty answer proves nothing: try again later");
});

Deno.test("fetchHistoricalTrades() asks for fromId and limit and keeps well-formed rows", async () => {
  let asked: URL | undefined;
  const fake = ((input: URL) => {
    asked = input;
    return Promise.resolve(Response.json([row(7), { id: "x" }, row(8)]));
  }) as typeof fetch;
  const rows = await fetchHistoricalTrades(new URL("http://127.0.0.1:1"), "BTCUSDT", 7, 2, fake);
  assert.equal(asked?.pathname, "/api/v3/historicalTrades");
  assert.equal(asked?.search, "?symbol=BTCUSDT&fromId=7&limit=2");
  assert.deepEqual(rows, [row(7), row(8)]);
});

Deno.test("fetchHistoricalTrades() turns 429 and 418 into RateLimitedError with Retry-After", async () => {
  const answer = (status: number, headers: Record<string, string>) =>
    (() => Promise.resolve(new Response("{}", { status, headers }))) as typeof fetch;
  await assert.rejects(
    fetchHistoricalTrades(new URL("http://x"), "BTCUSDT", 1, 1, answer(429, { "retry-after": "7" })),
    (error: unknown) => error instanceof RateLimitedError && error.retryAfterMs === 7000,
  );
  await assert.rejects(
    fetchHistoricalTrades(new URL("http://x"), "BTCUSDT", 1, 1, answer(418, {})),
    (error: unknown) => error instanceof RateLimitedError && error.retryAfterMs === 120_000,
  );
  await assert.rejects(
    fetchHistoricalTrades(new URL("http://x"), "BTCUSDT", 1, 1, answer(500, {})),
    /answered 500/,
  );
});
