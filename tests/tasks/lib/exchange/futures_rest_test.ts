import assert from "node:assert/strict";
import { aggregateTrades, type AggTrade } from "../../../../tasks/lib/exchange/agg_trades.ts";
import { type FuturesRestContext, handleFuturesRest } from "../../../../tasks/lib/exchange/futures_rest.ts";
import { TradeHistory } from "../../../../tasks/lib/exchange/history.ts";
import { isMarketTrade, type Trade } from "../../../../tasks/lib/exchange/market.ts";
import { WeightLimiter } from "../../../../tasks/lib/exchange/weight.ts";
import { fixtureTrade } from "./_trades.ts";

const BASE = 1_700_000_040_000;
const KEY = { "X-MBX-APIKEY": "local-test-key" };

/** Ids 1000..1019, one trade per 10 s; 1005 and 1012 are non-market (the exchange keeps them out of REST). */
function made(): Trade[] {
  return Array.from({ length: 20 }, (_, i) => {
    const trade = fixtureTrade(1000 + i, BASE + i * 10_000, i === 5 ? "102.0" : "100.0", "0.5", i % 2 === 0);
    return { ...trade, tradeType: i === 5 ? "INSURANCE_FUND" as const : i === 12 ? "ADL" as const : "MARKET" as const };
  });
}

function context(weightLimit = 2400): FuturesRestContext {
  const history = new TradeHistory(1000);
  const aggregates = new TradeHistory<AggTrade>(1000);
  const market = made().filter(isMarketTrade);
  market.forEach((trade) => history.append(trade));
  aggregateTrades(market, 7).forEach((aggregate) => aggregates.append(aggregate));
  return {
    histories: new Map([["BTCUSDT", history]]),
    aggregates: new Map([["BTCUSDT", aggregates]]),
    limiter: new WeightLimiter(weightLimit),
    nowMs: () => BASE,
    counters: { requests: 0, throttled: 0 },
  };
}

function get(ctx: FuturesRestContext, path: string, headers: Record<string, string> = {}): Response {
  return handleFuturesRest(new Request(`http://127.0.0.1${path}`, { headers }), ctx);
}

async function ids(response: Response): Promise<number[]> {
  assert.equal(response.status, 200);
  return (await response.json()).map((trade: { id: number }) => trade.id);
}

Deno.test("handleFuturesRest() lists recent MARKET trades only, without isBestMatch", async () => {
  const ctx = context();
  const response = get(ctx, "/fapi/v1/trades?symbol=BTCUSDT&limit=9");
  assert.equal(response.headers.get("X-MBX-USED-WEIGHT-1M"), "5");
  const trades = await response.json();
  assert.deepEqual(trades.map((t: { id: number }) => t.id), [1010, 1011, 1013, 1014, 1015, 1016, 1017, 1018, 1019]);
  assert.deepEqual(trades[0], {
    id: 1010,
    price: "100.00000000",
    qty: "0.50000000",
    quoteQty: "50.00000000",
    time: BASE + 100_000,
    isBuyerMaker: true,
  });
  assert.equal((await ids(get(ctx, "/fapi/v1/trades?symbol=BTCUSDT"))).length, 18);
});

Deno.test("handleFuturesRest() pages historicalTrades from an id, its ids skipping the non-market ones", async () => {
  const ctx = context();
  assert.deepEqual(await ids(get(ctx, "/fapi/v1/historicalTrades?symbol=BTCUSDT&fromId=1003&limit=4", KEY)), [
    1003,
    1004,
    1006,
    1007,
  ]);
  assert.deepEqual(await ids(get(ctx, "/fapi/v1/historicalTrades?symbol=BTCUSDT&fromId=1005&limit=1", KEY)), [1006]);
  assert.deepEqual(await ids(get(ctx, "/fapi/v1/historicalTrades?symbol=BTCUSDT&limit=1", KEY)), [1019]);
});

Deno.test("handleFuturesRest() refuses historicalTrades without an API key, as Binance does", async () => {
  const ctx = context();
  for (const headers of [{}, { "X-MBX-APIKEY": "" }, { "X-MBX-APIKEY": "  " }] as Record<string, string>[]) {
    const response = get(ctx, "/fapi/v1/historicalTrades?symbol=BTCUSDT&fromId=1000", headers);
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { code: -2014, msg: "API-key format invalid." });
  }
  assert.equal(get(ctx, "/fapi/v1/trades?symbol=BTCUSDT").status, 200, "trades needs no key");
  assert.equal(get(ctx, "/fapi/v1/aggTrades?symbol=BTCUSDT").status, 200, "aggTrades needs no key");
});

Deno.test("handleFuturesRest() serves aggTrades whose f..l cover exactly the market trades", async () => {
  const ctx = context();
  const rows = await get(ctx, "/fapi/v1/aggTrades?symbol=BTCUSDT").json();
  assert.deepEqual(Object.keys(rows[0]), ["a", "p", "q", "f", "l", "T", "m"]);
  const covered = rows.flatMap((row: { f: number; l: number }) =>
    Array.from({ length: row.l - row.f + 1 }, (_, i) => row.f + i)
  );
  assert.deepEqual(covered, made().filter(isMarketTrade).map((trade) => trade.id));
  const from = await get(ctx, "/fapi/v1/aggTrades?symbol=BTCUSDT&fromId=9&limit=2").json();
  assert.deepEqual(from.map((row: { a: number }) => row.a), [9, 10]);
  const timed = await get(
    ctx,
    `/fapi/v1/aggTrades?symbol=BTCUSDT&startTime=${BASE + 30_000}&endTime=${BASE + 70_000}`,
  ).json();
  assert.deepEqual(timed.map((row: { f: number }) => row.f), [1003, 1004, 1006, 1007]);
  const wide = get(ctx, `/fapi/v1/aggTrades?symbol=BTCUSDT&startTime=${BASE}&endTime=${BASE + 3_600_001}`);
  assert.equal((await wide.json()).code, -1127);
});

Deno.test("handleFuturesRest() computes klines from MARKET trades only", async () => {
  const rows = await get(context(), `/fapi/v1/klines?symbol=BTCUSDT&interval=1m&startTime=${BASE}`).json();
  assert.equal(rows[0][0], BASE);
  assert.equal(rows[0][2], "100.00000000", "the insurance-fund trade at 102 does not move high");
  assert.equal(rows[0][8], 5, "count of minute 1: ids 1000..1005 less the insurance-fund one");
  assert.equal(rows[0][5], "2.50000000");
});

Deno.test("handleFuturesRest() charges Binance's futures weights and answers 429 when spent", async () => {
  const ctx = context(31);
  assert.equal(
    get(ctx, "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=99").headers.get("X-MBX-USED-WEIGHT-1M"),
    "1",
  );
  assert.equal(get(ctx, "/fapi/v1/klines?symbol=BTCUSDT&interval=1m").headers.get("X-MBX-USED-WEIGHT-1M"), "6");
  assert.equal(get(ctx, "/fapi/v1/aggTrades?symbol=BTCUSDT").headers.get("X-MBX-USED-WEIGHT-1M"), "26");
  assert.equal(get(ctx, "/fapi/v1/trades?symbol=BTCUSDT").headers.get("X-MBX-USED-WEIGHT-1M"), "31");
  const refused = get(ctx, "/fapi/v1/trades?symbol=BTCUSDT");
  assert.equal(refused.status, 429);
  assert.equal((await refused.json()).code, -1003);
  assert.deepEqual(ctx.counters, { requests: 5, throttled: 1 });
});

Deno.test("handleFuturesRest() answers bad parameters and unknown paths with Binance's codes", async () => {
  const ctx = context();
  const cases: [string, number, number][] = [
    ["/fapi/v1/trades", 400, -1100],
    ["/fapi/v1/trades?symbol=DOGEUSDT", 400, -1121],
    ["/fapi/v1/trades?symbol=BTCUSDT&limit=1001", 400, -1100],
    ["/fapi/v1/klines?symbol=BTCUSDT&interval=1h", 400, -1120],
    ["/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1501", 400, -1100],
    ["/fapi/v1/depth?symbol=BTCUSDT", 404, -1000],
    ["/api/v3/trades?symbol=BTCUSDT", 404, -1000],
  ];
  for (const [path, status, code] of cases) {
    const response = get(ctx, path);
    assert.equal(response.status, status, path);
    assert.equal((await response.json()).code, code, path);
  }
});
