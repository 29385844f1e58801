/** startExchange({ market: "usdm" }) in process, over loopback: futures streams, `/fapi/v1/…` REST, the futures archive. */
import assert from "node:assert/strict";
import { configure, type FileEntry, TextWriter, Uint8ArrayReader, ZipReader } from "@zip.js/zip.js";
import { makeTestDir } from "../../../helpers/tasks.ts";
import { parseUnits } from "../../../../tasks/lib/decimal.ts";
import type { FuturesRestTrade } from "../../../../tasks/lib/exchange/encode.ts";
import { buildFuturesKlines } from "../../../../tasks/lib/exchange/klines.ts";
import type { Trade } from "../../../../tasks/lib/exchange/market.ts";
import { archivePath } from "../../../../tasks/lib/exchange/archive_paths.ts";
import { type ExchangeOptions, resolveExchangeOptions } from "../../../../tasks/lib/exchange/options.ts";
import { archiveCsvHeader, archiveCsvLine } from "../../../../tasks/lib/exchange/archive_csv.ts";
import { archiveTrades } from "../../../../tasks/lib/exchange/archive_trades.ts";
import { type Exchange, startExchange } from "../../../../tasks/lib/exchange/server.ts";
import type { FuturesTradeType } from "../../../../tasks/lib/market.ts";
import { connect, delay, disconnect, waitFor } from "./_sockets.ts";

configure({ useWebWorkers: false, useCompressionStream: true });

const KEY = { "X-MBX-APIKEY": "local" };

interface FuturesEvent {
  e: "trade";
  E: number;
  T: number;
  s: string;
  t: number;
  p: string;
  q: string;
  X: FuturesTradeType;
  m: boolean;
}

async function withExchange(options: ExchangeOptions, test: (exchange: Exchange) => Promise<void>): Promise<void> {
  const exchange = await startExchange({ port: 0, seed: 7, market: "usdm", ...options });
  try {
    await test(exchange);
  } finally {
    await exchange.shutdown();
  }
}

function get(exchange: Exchange, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${exchange.port}${path}`, { headers });
}

/** The futures trade in a frame (bare or combined), checked for the exact futures shape. */
function futuresEvent(frame: string): FuturesEvent {
  const message = JSON.parse(frame);
  const data = "stream" in message ? message.data : message;
  assert.equal(Object.keys(data).join(), "e,E,T,s,t,p,q,X,m", frame);
  return data;
}

function asTrade(event: FuturesEvent): Trade {
  const price = parseUnits(event.p);
  const qty = parseUnits(event.q);
  return {
    symbol: event.s,
    id: event.t,
    price,
    qty,
    quoteQty: (price * qty) / 100_000_000n,
    timeUs: event.T * 1000,
    eventTimeUs: event.E * 1000,
    isBuyerMaker: event.m,
    tradeType: event.X,
  };
}

/** 1500 trades at full speed over one connection; the exchange then stops generating. */
const RUN: ExchangeOptions = {
  symbols: ["BTCUSDT"],
  rate: 3000,
  maxTrades: 1500,
  exitAfterMax: true,
  waitForClient: true,
  nonMarketRate: 0.02,
};

Deno.test("startExchange() on usdm streams futures frames at /public/stream, ids contiguous with non-market ones", async () => {
  await withExchange(RUN, async (exchange) => {
    const client = await connect(`ws://127.0.0.1:${exchange.port}/public/stream?streams=btcusdt@trade`);
    await exchange.done;
    const report = exchange.stats().symbols.BTCUSDT!;
    await waitFor(() => client.frames.length >= report.count, "every trade");
    await disconnect(client);
    const events = client.frames.map(futuresEvent);
    assert.deepEqual(events.map((e) => e.t), events.map((_, i) => report.firstId! + i));
    const odd = events.filter((e) => e.X !== "MARKET");
    assert.ok(odd.length > 5, `${odd.length} non-market trades`);
    assert.deepEqual(odd.map((e) => e.t), report.nonMarketIds);
    assert.equal(report.nonMarketCount, odd.length);
    assert.equal(exchange.stats().market, "usdm");
    assert.ok(events.every((e) => parseUnits(e.p) % parseUnits("0.1") === 0n && e.T === Math.floor(e.T)));
    assert.ok(events.every((e) => parseUnits(e.q) % parseUnits("0.001") === 0n));
  });
});

Deno.test("startExchange() on usdm also serves /stream and raw /public/ws/, not spot's /api", async () => {
  await withExchange({ symbols: ["ETHUSDT"], rate: 400 }, async (exchange) => {
    for (const path of ["/stream?streams=ethusdt@trade", "/public/ws/ethusdt@trade", "/ws/ethusdt@trade"]) {
      const client = await connect(`ws://127.0.0.1:${exchange.port}${path}`);
      await waitFor(() => client.frames.length > 0, `a trade on ${path}`);
      await disconnect(client);
      assert.equal(futuresEvent(client.frames[0]!).s, "ETHUSDT", path);
    }
    const spot = await get(exchange, "/api/v3/trades?symbol=ETHUSDT");
    assert.equal(spot.status, 404);
    await spot.body?.cancel();
  });
});

Deno.test("startExchange() on usdm serves the futures REST: MARKET trades only, key, aggTrades and klines", async () => {
  await withExchange(RUN, async (exchange) => {
    const client = await connect(`ws://127.0.0.1:${exchange.port}/public/stream?streams=btcusdt@trade`);
    await exchange.done;
    const report = exchange.stats().symbols.BTCUSDT!;
    await waitFor(() => client.frames.length >= report.count, "every trade");
    await disconnect(client);
    const made = client.frames.map(futuresEvent).map(asTrade);
    const marketIds = made.filter((t) => t.tradeType === "MARKET").map((t) => t.id);

    const recent: FuturesRestTrade[] = await (await get(exchange, "/fapi/v1/trades?symbol=BTCUSDT&limit=1000")).json();
    assert.deepEqual(recent.map((t) => t.id), marketIds.slice(-1000));
    assert.equal("isBestMatch" in recent[0]!, false);

    const refused = await get(exchange, `/fapi/v1/historicalTrades?symbol=BTCUSDT&fromId=${report.firstId}`);
    assert.equal(refused.status, 401);
    assert.deepEqual(await refused.json(), { code: -2014, msg: "API-key format invalid." });
    const listed: FuturesRestTrade[] = [];
    for (let fromId = report.firstId!; fromId <= report.lastId!;) {
      const page: FuturesRestTrade[] =
        await (await get(exchange, `/fapi/v1/historicalTrades?symbol=BTCUSDT&fromId=${fromId}&limit=1000`, KEY))
          .json();
      listed.push(...page);
      fromId = page.at(-1)!.id + 1;
    }
    assert.deepEqual(listed.map((t) => t.id), marketIds, "REST ids skip exactly the non-market ones");
    assert.ok(report.nonMarketIds!.every((id) => !listed.some((t) => t.id === id)));

    const aggs: { f: number; l: number; q: string }[] =
      await (await get(exchange, "/fapi/v1/aggTrades?symbol=BTCUSDT&fromId=0&limit=1000")).json();
    const covered = aggs.flatMap((a) => Array.from({ length: a.l - a.f + 1 }, (_, i) => a.f + i));
    assert.deepEqual(covered, marketIds.slice(0, covered.length), "aggregates cover the market trades in order");

    const firstMinute = Math.floor(made[0]!.timeUs / 60_000_000) * 60_000;
    const klines = await (await get(exchange, `/fapi/v1/klines?symbol=BTCUSDT&interval=1m&startTime=${firstMinute}`))
      .json();
    assert.deepEqual(klines, buildFuturesKlines(made, 60_000, "ms"));
  });
});

Deno.test("startExchange() on usdm serves prefilled days at data/futures/um with a header, MARKET trades only", async () => {
  const cache = await makeTestDir("exchange-usdm-archive");
  try {
    await withExchange(
      { symbols: ["BTCUSDT"], rate: 20, prefillMinutes: 2, nonMarketRate: 0.05, archiveCacheDir: cache },
      async (exchange) => {
        const report = exchange.stats().symbols.BTCUSDT!;
        assert.equal(report.count, 2400);
        const days = [
          ...new Set([Date.now() - 120_000, Date.now()].map((ms) => new Date(ms).toISOString().slice(0, 10))),
        ];
        const lines: string[] = [];
        for (const date of days) {
          const response = await get(
            exchange,
            archivePath({ period: "daily", symbol: "BTCUSDT", date }, false, "usdm"),
          );
          if (response.status === 404) {
            await response.body?.cancel();
            continue;
          }
          const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(await response.arrayBuffer())));
          const text = await ((await reader.getEntries())[0] as FileEntry).getData(new TextWriter());
          await reader.close();
          const [header, ...rows] = text.trimEnd().split("\n");
          assert.equal(header, "id,price,qty,quote_qty,time,is_buyer_maker");
          lines.push(...rows);
          const checksum = await get(exchange, archivePath({ period: "daily", symbol: "BTCUSDT", date }, true, "usdm"));
          assert.match(await checksum.text(), new RegExp(`^[0-9a-f]{64}  BTCUSDT-trades-${date}\\.zip\\n$`));
        }
        const ids = lines.map((line) => Number(line.split(",")[0]));
        const all = Array.from({ length: report.count }, (_, i) => report.firstId! + i);
        assert.deepEqual(ids, all.filter((id) => !report.nonMarketIds!.includes(id)));
        assert.ok(report.nonMarketIds!.length > 50);
        assert.ok(lines.every((line) => /,\d{13},(true|false)$/.test(line)), "ms times, lower-case booleans");
        const spot = await get(exchange, archivePath({ period: "daily", symbol: "BTCUSDT", date: days[0]! }));
        assert.equal(spot.status, 404);
        await spot.body?.cancel();
        await delay(0);
      },
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("startExchange() on usdm injects its faults in the futures shape; wrong_market sends spot frames", async () => {
  const kinds = [
    "malformed_json",
    "missing_fields",
    "bad_price",
    "unknown_event",
    "wrong_market",
    "duplicate",
  ] as const;
  const faults = Object.fromEntries(kinds.map((kind) => [kind, 0.05]));
  await withExchange({ ...RUN, maxTrades: 600, faults }, async (exchange) => {
    const client = await connect(`ws://127.0.0.1:${exchange.port}/public/stream?streams=btcusdt@trade`);
    await exchange.done;
    const report = exchange.stats();
    await waitFor(
      () => client.frames.some((f) => f.includes(`"t":${report.symbols.BTCUSDT!.lastId},`)),
      "the last trade",
    );
    await delay(50);
    await disconnect(client);
    const spotShaped = client.frames.filter((frame) => frame.includes('"M":true') && !frame.includes('"X"'));
    assert.equal(spotShaped.length, report.faults.wrong_market);
    assert.ok(report.faults.wrong_market > 0 && report.faults.malformed_json > 0, JSON.stringify(report.faults));
    const valid = new Map<number, FuturesEvent>();
    for (const frame of client.frames) {
      try {
        const data = JSON.parse(frame).data;
        if (Object.keys(data).join() === "e,E,T,s,t,p,q,X,m" && /^\d+\.\d{8}$/.test(data.p) && Number(data.p) > 0) {
          valid.set(data.t, data);
        }
      } catch {
        // a malformed frame
      }
    }
    const { firstId, count } = report.symbols.BTCUSDT!;
    assert.deepEqual([...valid.keys()].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => firstId! + i));
  });
});

Deno.test("startExchange() on usdm generates archive days in ms with a header, listing what archiveTrades() lists", async () => {
  const cache = await makeTestDir("exchange-usdm-generated");
  const options: ExchangeOptions = {
    market: "usdm",
    seed: 7,
    symbols: ["BTCUSDT"],
    rate: 0,
    nonMarketRate: 0.05,
    archive: { from: "2025-03-01", to: "2025-03-02", tradesPerDay: 400 },
    archiveCacheDir: cache,
  };
  try {
    await withExchange(options, async (exchange) => {
      const file = { period: "daily" as const, symbol: "BTCUSDT", date: "2025-03-02" };
      const response = await get(exchange, archivePath(file, false, "usdm"));
      const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(await response.arrayBuffer())));
      const text = await ((await reader.getEntries())[0] as FileEntry).getData(new TextWriter());
      await reader.close();
      const expected = [...archiveTrades(resolveExchangeOptions(options), "BTCUSDT", "2025-03-02")];
      const format = { header: true, unit: "ms" as const };
      assert.equal(text, archiveCsvHeader(format) + expected.map((trade) => archiveCsvLine(trade, format)).join(""));
      assert.ok(expected.length < 400 && expected.length > 360, `${expected.length} of 400 ids listed`);
    });
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
