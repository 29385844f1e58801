import assert from "node:assert/strict";
import { formatUnits, parseUnits } from "../../../../tasks/lib/decimal.ts";
import { FUTURES_TRADE_TYPES } from "../../../../tasks/lib/market.ts";
import { tradeEventJson } from "../../../../tasks/lib/exchange/encode.ts";
import {
  createMarket,
  DEFAULT_START_ID,
  isMarketTrade,
  nextTrades,
  NON_MARKET_TRADE_TYPES,
  type Trade,
  tradesDue,
} from "../../../../tasks/lib/exchange/market.ts";
import { deriveSeed, mulberry32 } from "../../../../tasks/lib/exchange/prng.ts";
import { futuresSymbolSpec, symbolSpec } from "../../../../tasks/lib/exchange/symbols.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const T0 = 1_700_000_000_000_000;

function generate(seed: number, count: number, symbols = SYMBOLS): Trade[] {
  return nextTrades(createMarket({ symbols, seed }), count, T0, T0 + count * 1000);
}

Deno.test("mulberry32() repeats its sequence for a seed and differs across seeds", () => {
  const draws = (seed: number) => Array.from({ length: 5 }, mulberry32(seed).next);
  assert.deepEqual(draws(7), draws(7));
  assert.notDeepEqual(draws(7), draws(8));
  assert.ok(draws(1).every((x) => x >= 0 && x < 1));
  assert.notEqual(deriveSeed(7, 0), deriveSeed(7, 1));
});

Deno.test("createMarket() gives identical trades for the same seed", () => {
  assert.deepEqual(generate(7, 2000), generate(7, 2000));
  assert.notDeepEqual(generate(7, 50), generate(8, 50));
});

Deno.test("createMarket() numbers trades contiguously per symbol from startId", () => {
  const trades = nextTrades(createMarket({ symbols: SYMBOLS, seed: 3, startId: 42 }), 3000, T0, T0 + 1);
  for (const symbol of SYMBOLS) {
    const ids = trades.filter((t) => t.symbol === symbol).map((t) => t.id);
    assert.ok(ids.length > 800, `${symbol} gets its share: ${ids.length}`);
    assert.deepEqual(ids, ids.map((_, i) => 42 + i));
  }
});

Deno.test("createMarket() keeps prices positive on the tick grid and quantities whole steps", () => {
  for (const trade of generate(11, 20_000, ["BTCUSDT", "DOGEUSDT", "NEWCOIN"])) {
    const spec = symbolSpec(trade.symbol);
    assert.ok(trade.price > 0n && trade.price % spec.tickSize === 0n, formatUnits(trade.price));
    assert.ok(trade.qty >= spec.stepSize && trade.qty % spec.stepSize === 0n, formatUnits(trade.qty));
    assert.equal(trade.quoteQty, (trade.price * trade.qty) / 100_000_000n);
  }
});

Deno.test("createMarket() walks near the start price with heavy-tailed sizes and both sides", () => {
  const trades = generate(5, 5000, ["BTCUSDT"]);
  const prices = trades.map((t) => Number(t.price) / 1e8);
  assert.ok(Math.min(...prices) > 50_000 && Math.max(...prices) < 70_000, `${Math.min(...prices)}`);
  assert.ok(new Set(prices).size > 100, "the price moves");
  const sizes = trades.map((t) => Number(t.qty)).sort((a, b) => a - b);
  assert.ok(sizes.at(-1)! > 50 * sizes[sizes.length / 2]!, "the largest trade dwarfs the median");
  const makers = trades.filter((t) => t.isBuyerMaker).length;
  assert.ok(makers > 2000 && makers < 3000, `${makers}`);
});

Deno.test("symbolSpec() knows the majors and gives other symbols a default", () => {
  assert.equal(formatUnits(symbolSpec("BTCUSDT").stepSize), "0.00001000");
  assert.equal(formatUnits(symbolSpec("ETHUSDT").stepSize), "0.00010000");
  assert.equal(formatUnits(symbolSpec("SOLUSDT").tickSize), "0.01000000");
  assert.equal(formatUnits(symbolSpec("ABCUSDT").startPrice), "100.00000000");
});

Deno.test("nextTrades() spreads trade times over the window and emits them at its end", () => {
  const trades = nextTrades(createMarket({ symbols: ["BTCUSDT"], seed: 1 }), 4, 1000, 2000);
  assert.deepEqual(trades.map((t) => t.timeUs), [1250, 1500, 1750, 2000]);
  assert.ok(trades.every((t) => t.eventTimeUs === 2000));
});

Deno.test("tradeEventJson() has Binance's keys in Binance's order, in ms or µs", () => {
  const [trade] = nextTrades(createMarket({ symbols: ["BTCUSDT"], seed: 1 }), 1, T0, T0 + 1234);
  const ms = tradeEventJson(trade!, "ms");
  assert.deepEqual(Object.keys(JSON.parse(ms)), ["e", "E", "s", "t", "p", "q", "T", "m", "M"]);
  assert.match(ms, /^\{"e":"trade","E":1700000000001,"s":"BTCUSDT","t":1000000,"p":"\d+\.\d{8}","q":"\d+\.\d{8}",/);
  assert.match(ms, /"T":1700000000001,"m":(true|false),"M":true\}$/);
  assert.match(tradeEventJson(trade!, "us"), /"E":1700000000001234,.*"T":1700000000001234,/);
});

Deno.test("tradesDue() follows the rate from the start, adds bursts and stops at maxTrades", () => {
  assert.equal(tradesDue({ rate: 50 }, 0.015, 0), 0);
  assert.equal(tradesDue({ rate: 50 }, 1, 0), 50);
  assert.equal(tradesDue({ rate: 50 }, 1.5, 50), 25);
  assert.equal(tradesDue({ rate: 50 }, 1.5, 80), 0, "never negative");
  assert.equal(tradesDue({ rate: 0, burst: { everySeconds: 2, size: 100 } }, 1.9, 0), 0);
  assert.equal(tradesDue({ rate: 10, burst: { everySeconds: 2, size: 100 } }, 4.0, 0), 240);
  assert.equal(tradesDue({ rate: 1000, maxTrades: 300 }, 10, 250), 50);
});

Deno.test("createMarket() on usdm makes the same trades for a seed, with futures precision and a type each", () => {
  const make = (seed: number) =>
    nextTrades(createMarket({ symbols: SYMBOLS, seed, market: "usdm", nonMarketRate: 0.05 }), 4000, T0, T0 + 1);
  const trades = make(11);
  assert.deepEqual(trades, make(11));
  assert.notDeepEqual(trades.slice(0, 100), make(12).slice(0, 100));
  for (const trade of trades.filter((t) => t.symbol === "BTCUSDT")) {
    assert.equal(trade.price % parseUnits("0.1"), 0n, formatUnits(trade.price));
    assert.equal(trade.qty % parseUnits("0.001"), 0n, formatUnits(trade.qty));
  }
  assert.ok(trades.every((t) => FUTURES_TRADE_TYPES.includes(t.tradeType!)));
  for (const symbol of SYMBOLS) {
    const ids = trades.filter((t) => t.symbol === symbol).map((t) => t.id);
    assert.deepEqual(ids, ids.map((_, i) => DEFAULT_START_ID + i), `${symbol}: ids contiguous with non-market ones`);
  }
});

Deno.test("createMarket() on usdm makes about nonMarketRate non-market trades, about 2 % off the market, small", () => {
  const trades = nextTrades(
    createMarket({ symbols: ["BTCUSDT"], seed: 5, market: "usdm", nonMarketRate: 0.01 }),
    20_000,
    T0,
    T0 + 1,
  );
  const odd = trades.filter((t) => !isMarketTrade(t));
  assert.ok(odd.length > 120 && odd.length < 280, `${odd.length} non-market trades of 20000`);
  assert.deepEqual(new Set(odd.map((t) => t.tradeType)), new Set(NON_MARKET_TRADE_TYPES));
  for (const trade of odd) {
    const market = trades.findLast((t) => t.id < trade.id && isMarketTrade(t))!;
    const off = Math.abs(Number(trade.price) / Number(market.price) - 1);
    assert.ok(off > 0.017 && off < 0.023, `${trade.id}: ${off} away from the market`);
    assert.ok(trade.qty <= parseUnits("0.003"), formatUnits(trade.qty));
    const next = trades.find((t) => t.id > trade.id && isMarketTrade(t));
    if (next) assert.ok(Math.abs(Number(next.price) / Number(market.price) - 1) < 0.01, "market price unmoved");
  }
});

Deno.test("createMarket() on spot is unchanged by the futures options: no type, spot precision", () => {
  const spot = generate(7, 500);
  assert.ok(spot.every((t) => t.tradeType === undefined));
  assert.deepEqual(
    spot,
    nextTrades(createMarket({ symbols: SYMBOLS, seed: 7, nonMarketRate: 0.5 }), 500, T0, T0 + 500_000),
  );
  assert.equal(futuresSymbolSpec("BTCUSDT").tickSize, parseUnits("0.1"));
  assert.equal(futuresSymbolSpec("BTCUSDT").stepSize, parseUnits("0.001"));
  assert.equal(symbolSpec("BTCUSDT").tickSize, parseUnits("0.01"));
});
