import assert from "node:assert/strict";
import { TradeHistory } from "../../../../tasks/lib/exchange/history.ts";
import { handleRest, type RestContext } from "../../../../tasks/lib/exchange/rest.ts";
import { WeightLimiter } from "../../../../tasks/lib/exchange/weight.ts";
import { fixtureTrade } from "./_trades.ts";

const BASE = 1_700_000_040_000;

function context(weightLimit = 6000, trades = 1500): RestContext {
  const history = new TradeHistory(1200);
  for (let i = 0; i < trades; i++) {
    history.append(fixtureTrade(1_000_000 + i, BASE + i * 100, "100.01", "0.5", i % 2 === 0));
  }
  return {
    histories: new Map([["BTCUSDT", history]]),
    limiter: new WeightLimiter(weightLimit),
    nowMs: () => BASE,
    counters: { requests: 0, throttled: 0 },
  };
}

function get(ctx: RestContext, path: string, headers: Record<string, string> = {}): Response {
  return handleRest(new Request(`http://127.0.0.1${path}`, { headers }), ctx);
}

Deno.test("handleRest() serves the most recent trades with Binance's fields", async () => {
  const response = get(context(), "/api/v3/trades?symbol=BTCUSDT&limit=2");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("X-MBX-USED-WEIGHT-1M"), "25");
  assert.deepEqual(await response.json(), [
    {
      id: 1_001_498,
      price: "100.01000000",
      qty: "0.50000000",
      quoteQty: "50.00500000",
      time: BASE + 149_800,
      isBuyerMaker: true,
      isBestMatch: true,
    },
    {
      id: 1_001_499,
      price: "100.01000000",
      qty: "0.50000000",
      quoteQty: "50.00500000",
      time: BASE + 149_900,
      isBuyerMaker: false,
      isBestMatch: true,
    },
  ]);
});

Deno.test("handleRest() defaults to 500 trades and shows µs with X-MBX-TIME-UNIT", async () => {
  const trades = await get(context(), "/api/v3/trades?symbol=BTCUSDT", { "X-MBX-TIME-UNIT": "microsecond" }).json();
  assert.equal(trades.length, 500);
  assert.equal(trades.at(-1).time, (BASE + 149_900) * 1000);
});

Deno.test("handleRest() pages historicalTrades from an id, starting at the oldest kept for older ids", async () => {
  const ctx = context();
  const ids = async (path: string) => (await get(ctx, path).json()).map((t: { id: number }) => t.id);
  assert.deepEqual(await ids("/api/v3/historicalTrades?symbol=BTCUSDT&fromId=1001000&limit=3"), [
    1_001_000,
    1_001_001,
    1_001_002,
  ]);
  assert.deepEqual(await ids("/api/v3/historicalTrades?symbol=BTCUSDT&fromId=5&limit=2"), [1_000_300, 1_000_301]);
  assert.deepEqual(await ids("/api/v3/historicalTrades?symbol=BTCUSDT&limit=1"), [1_001_499]);
  assert.equal((await ids("/api/v3/historicalTrades?symbol=BTCUSDT&fromId=1000300")).length, 500);
});

Deno.test("handleRest() computes klines from the kept trades", async () => {
  const rows = await get(context(6000, 1200), "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=2").json();
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1], [
    BASE + 60_000,
    "100.01000000",
    "100.01000000",
    "100.01000000",
    "100.01000000",
    "300.00000000",
    BASE + 119_999,
    "30003.00000000",
    600,
    "150.00000000",
    "15001.50000000",
    "0",
  ]);
  const later = await get(context(), `/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${BASE + 1}`).json();
  assert.deepEqual(later.map((row: number[]) => row[0]), [BASE + 60_000, BASE + 120_000]);
});

Deno.test("handleRest() answers bad parameters with Binance's codes", async () => {
  const ctx = context();
  const cases: [string, number, number][] = [
    ["/api/v3/trades", 400, -1100],
    ["/api/v3/trades?symbol=btcusdt", 400, -1100],
    ["/api/v3/trades?symbol=DOGEUSDT", 400, -1121],
    ["/api/v3/trades?symbol=BTCUSDT&limit=1001", 400, -1100],
    ["/api/v3/trades?symbol=BTCUSDT&limit=0", 400, -1100],
    ["/api/v3/historicalTrades?symbol=BTCUSDT&fromId=abc", 400, -1100],
    ["/api/v3/klines?symbol=BTCUSDT&interval=1h", 400, -1120],
    ["/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=-1", 400, -1100],
    ["/api/v3/depth?symbol=BTCUSDT", 404, -1000],
  ];
  for (const [path, status, code] of cases) {
    const response = get(ctx, path);
    assert.equal(response.status, status, path);
    assert.equal((await response.json()).code, code, path);
  }
});

Deno.test("handleRest() answers 429 with Retry-After once the minute's weight is spent", async () => {
  const ctx = context(52);
  assert.equal(get(ctx, "/api/v3/trades?symbol=BTCUSDT").status, 200);
  assert.equal(get(ctx, "/api/v3/historicalTrades?symbol=BTCUSDT").status, 200);
  assert.equal(get(ctx, "/api/v3/klines?symbol=BTCUSDT&interval=1m").status, 200);
  const refused = get(ctx, "/api/v3/trades?symbol=BTCUSDT");
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("Retry-After"), "60");
  assert.equal(refused.headers.get("X-MBX-USED-WEIGHT-1M"), "52");
  assert.equal((await refused.json()).code, -1003);
  assert.deepEqual(ctx.counters, { requests: 4, throttled: 1 });
});
