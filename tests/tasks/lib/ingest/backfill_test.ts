import assert from "node:assert/strict";
import {
  fetchHistoricalTrades,
  fetchLatestTradeId,
  fetchRecentTrades,
  planHeal,
  planListedHeal,
  RateLimitedError,
} from "../../../../tasks/lib/ingest/backfill.ts";

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

const futuresRow = (id: number) => ({
  id,
  price: "1.1",
  qty: "0.002",
  quoteQty: "0.0022",
  time: 1000 + id,
  isBuyerMaker: true,
});

Deno.test("planListedHeal() closes ids the answer to fromId skipped while listing past them", () => {
  const gap = { from: 10, to: 20, firstSeenMs: 5 };
  // 10 and 14-15 are off-book (never listed); the answer stops at 17, so 18-20 stay missing.
  const plan = planListedHeal(gap, [11, 12, 13, 16, 17].map(futuresRow), 10);
  assert.deepEqual(plan.trades.map((t) => [t.row.id, t.sourcePrevId]), [[11, 9], [12, 11], [13, 12], [16, 13], [
    17,
    16,
  ]]);
  assert.deepEqual(plan.absent, [{ from: 10, to: 10 }, { from: 14, to: 15 }]);
  assert.equal(plan.older, undefined);
});

Deno.test("planListedHeal() keeps only the part inside the gap and proves nothing from an empty answer", () => {
  const gap = { from: 12, to: 14, firstSeenMs: 0 };
  const plan = planListedHeal(gap, [12, 16, 19].map(futuresRow), 12);
  assert.deepEqual(plan.trades.map((t) => t.row.id), [12]);
  assert.deepEqual(plan.absent, [{ from: 13, to: 14 }], "16 is past the gap: 13-14 are confirmed absent");
  assert.deepEqual(
    plan.proofs,
    [],
    "15, the live trade above the gap, is off-book too: nothing listed can prove 13-14",
  );
  assert.deepEqual(planListedHeal(gap, [], 12), { trades: [], absent: [], proofs: [] });
});

Deno.test("planListedHeal() gives the trade right above the gap as the proof of absent ids at the gap's top", () => {
  // The stream delivered 15 and revealed the gap 10-14; 13-14 were off-book, so only REST's copy of 15 says so.
  const gap = { from: 10, to: 14, firstSeenMs: 0 };
  const plan = planListedHeal(gap, [10, 11, 12, 15, 16].map(futuresRow), 10);
  assert.deepEqual(plan.absent, [{ from: 13, to: 14 }]);
  assert.deepEqual(plan.proofs.map((p) => [p.row.id, p.sourcePrevId]), [[15, 12]]);
  assert.deepEqual(planListedHeal(gap, [10, 11, 12, 13, 14, 15].map(futuresRow), 10).proofs, [], "nothing absent");
});

Deno.test("planListedHeal() on recent trades: complete from its first trade, older ids left open", () => {
  const gap = { from: 100, to: 110, firstSeenMs: 7 };
  const plan = planListedHeal(gap, [105, 107, 108, 112].map(futuresRow));
  assert.deepEqual(plan.trades.map((t) => [t.row.id, t.sourcePrevId]), [[105, undefined], [107, 105], [108, 107]]);
  assert.deepEqual(plan.absent, [{ from: 106, to: 106 }, { from: 109, to: 110 }]);
  assert.deepEqual(plan.older, { from: 100, to: 104, firstSeenMs: 7 });
  const covering = planListedHeal(gap, [90, 101, 120].map(futuresRow));
  assert.deepEqual(covering.absent, [{ from: 100, to: 100 }, { from: 102, to: 110 }]);
  assert.equal(covering.older, undefined);
});

Deno.test("fetchHistoricalTrades() on usdm asks /fapi/v1/historicalTrades with the key in X-MBX-APIKEY only", async () => {
  const asked: { url: URL; headers: Headers }[] = [];
  const fake = ((input: URL, init?: RequestInit) => {
    asked.push({ url: input, headers: new Headers(init?.headers) });
    return Promise.resolve(Response.json([futuresRow(7)]));
  }) as typeof fetch;
  const base = new URL("http://127.0.0.1:1");
  const rows = await fetchHistoricalTrades(base, "BTCUSDT", 7, 2, fake, { market: "usdm", apiKey: "k3y" });
  assert.equal(rows[0]?.id, 7);
  assert.equal(asked[0]?.url.pathname, "/fapi/v1/historicalTrades");
  assert.equal(asked[0]?.url.search, "?symbol=BTCUSDT&fromId=7&limit=2");
  assert.equal(asked[0]?.headers.get("x-mbx-apikey"), "k3y");
  await fetchRecentTrades(base, "BTCUSDT", 1000, fake, { market: "usdm", apiKey: "k3y" });
  assert.equal(asked[1]?.url.pathname, "/fapi/v1/trades");
  assert.equal(asked[1]?.url.search, "?symbol=BTCUSDT&limit=1000");
  assert.equal(asked[1]?.headers.get("x-mbx-apikey"), null, "the public list gets no key");
  assert.equal(await fetchLatestTradeId(base, "BTCUSDT", fake, { market: "usdm" }), 7);
  assert.equal(asked[2]?.url.pathname, "/fapi/v1/trades");
  await fetchHistoricalTrades(base, "BTCUSDT", 7, 2, fake);
  assert.equal(asked[3]?.url.pathname, "/api/v3/historicalTrades", "spot as before");
  assert.equal(asked[3]?.headers.get("x-mbx-apikey"), null);
});

Deno.test("fetchHistoricalTrades() errors do not carry the API key", async () => {
  const refuse =
    (() =>
      Promise.resolve(Response.json({ code: -2014, msg: "API-key format invalid." }, { status: 401 }))) as typeof fetch;
  await assert.rejects(
    fetchHistoricalTrades(new URL("http://x"), "BTCUSDT", 1, 1, refuse, { market: "usdm", apiKey: "s3cr3t-key" }),
    (error: unknown) => /answered 401/.test((error as Error).message) && !(error as Error).message.includes("s3cr3t"),
  );
});
