/** startExchange() in process, over real loopback sockets: streaming, REST, faults, admin endpoints, keep-alive. */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { makeTestDir } from "../../../helpers/tasks.ts";
import { FAULT_KINDS } from "../../../../tasks/lib/exchange/faults.ts";
import { type Exchange, type ExchangeReport, startExchange } from "../../../../tasks/lib/exchange/server.ts";
import type { ExchangeOptions } from "../../../../tasks/lib/exchange/options.ts";
import { connect, delay, disconnect, type TradeEvent, validTrade, waitFor } from "./_sockets.ts";

async function withExchange(options: ExchangeOptions, test: (exchange: Exchange) => Promise<void>): Promise<void> {
  const exchange = await startExchange({ port: 0, seed: 7, ...options });
  try {
    await test(exchange);
  } finally {
    await exchange.shutdown();
  }
}

function ws(exchange: Exchange, path: string): string {
  return `ws://127.0.0.1:${exchange.port}${path}`;
}

function http(exchange: Exchange, path: string, init?: RequestInit): Promise<Response> {
  return fetch(`http://127.0.0.1:${exchange.port}${path}`, init);
}

async function stats(exchange: Exchange): Promise<ExchangeReport> {
  return await (await http(exchange, "/admin/stats")).json();
}

function assertContiguous(ids: number[], what: string): void {
  assert.ok(ids.length > 0, `${what}: no trades`);
  assert.deepEqual(ids, ids.map((_, i) => ids[0]! + i), `${what}: ids are contiguous`);
}

Deno.test("startExchange() streams every trade after the connection, in id order, as REST serves them", async () => {
  await withExchange({ symbols: ["BTCUSDT"], rate: 400 }, async (exchange) => {
    const client = await connect(ws(exchange, "/ws/btcusdt@trade"));
    await delay(600);
    await disconnect(client);
    const trades = client.frames.map((frame) => validTrade(frame, new Set(["BTCUSDT"]), false)!);
    assert.ok(trades.every((trade) => trade !== undefined), "every frame is a valid bare trade");
    assertContiguous(trades.map((trade) => trade.t), "raw stream");
    const rest = await (await http(exchange, `/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${trades[0]!.t}`)).json();
    for (const [i, trade] of trades.entries()) {
      assert.deepEqual(rest[i], {
        id: trade.t,
        price: trade.p,
        qty: trade.q,
        quoteQty: rest[i].quoteQty,
        time: trade.T,
        isBuyerMaker: trade.m,
        isBestMatch: true,
      });
    }
  });
});

Deno.test("startExchange() with waitForClient generates nothing until the first client, which sees every trade", async () => {
  await withExchange({ symbols: ["BTCUSDT"], rate: 1000, waitForClient: true }, async (exchange) => {
    await delay(150);
    assert.equal(exchange.stats().trades, 0);
    const client = await connect(ws(exchange, "/ws/btcusdt@trade"));
    await waitFor(() => client.frames.length >= 20, "trades after the first client connected");
    await disconnect(client);
    const first = validTrade(client.frames[0]!, new Set(["BTCUSDT"]), false)!;
    assert.equal(first.t, exchange.stats().symbols.BTCUSDT!.firstId);
  });
});

Deno.test("startExchange() sends µs times when the client asks timeUnit=MICROSECOND", async () => {
  await withExchange({ symbols: ["ETHUSDT"], rate: 200 }, async (exchange) => {
    const client = await connect(ws(exchange, "/stream?streams=ethusdt@trade&timeUnit=microsecond"));
    await waitFor(() => client.frames.length > 0, "a trade");
    await disconnect(client);
    const trade = validTrade(client.frames[0]!, new Set(["ETHUSDT"]), true)!;
    assert.ok(trade.T > 1e15 && trade.E >= trade.T, JSON.stringify(trade));
  });
});

Deno.test("startExchange() counts every injected bad frame, and the valid trades stay whole", async () => {
  const faults = Object.fromEntries(
    FAULT_KINDS.filter((kind) => kind !== "drop" && kind !== "stall").map((kind) => [kind, 0.04]),
  );
  const symbols = ["BTCUSDT", "ETHUSDT"];
  await withExchange({ symbols, rate: 2000, maxTrades: 800, exitAfterMax: true, faults }, async (exchange) => {
    const client = await connect(ws(exchange, "/stream?streams=btcusdt@trade/ethusdt@trade"));
    await exchange.done;
    const report = await stats(exchange);
    await waitFor(
      () => symbols.every((s) => client.frames.some((f) => f.includes(`"s":"${s}","t":${report.symbols[s]!.lastId},`))),
      "the last trades",
    );
    await delay(50);
    await disconnect(client);

    const valid = client.frames.map((frame) => validTrade(frame, new Set(symbols), true));
    const badFrames = valid.filter((trade) => trade === undefined).length;
    const frameFaults = ["malformed_json", "wrong_types", "missing_fields", "bad_price", "bad_qty", "unknown_event"]
      .concat(["unsubscribed_symbol", "wrong_market", "oversized"]) as (keyof typeof report.faults)[];
    assert.equal(badFrames, frameFaults.reduce((sum, kind) => sum + report.faults[kind], 0), JSON.stringify(report));
    assert.ok(frameFaults.every((kind) => report.faults[kind] > 0), JSON.stringify(report.faults));
    assert.ok(client.frames.some((frame) => frame.length > 64 * 1024), "an oversized frame arrived");

    const trades = valid.filter((trade): trade is TradeEvent => trade !== undefined);
    const unique = new Map(trades.map((trade) => [`${trade.s}:${trade.t}`, trade]));
    assert.equal(trades.length - unique.size, report.faults.duplicate);
    assert.ok(report.faults.duplicate > 0 && report.faults.out_of_order > 0, JSON.stringify(report.faults));
    for (const symbol of symbols) {
      const ids = [...unique.values()].filter((t) => t.s === symbol).map((t) => t.t).sort((a, b) => a - b);
      assertContiguous(ids, symbol);
      assert.equal(ids.at(-1), report.symbols[symbol]!.lastId);
    }
  });
});

Deno.test("startExchange() injects the same faults for the same seed", async () => {
  // No steady rate: one burst after 100 ms, so the client is connected before the first trade.
  const options = {
    symbols: ["BTCUSDT"],
    rate: 0,
    burst: { everySeconds: 0.1, size: 300 },
    maxTrades: 300,
    exitAfterMax: true,
    faults: { bad_qty: 0.1, duplicate: 0.1, out_of_order: 0.1 },
  };
  const run = async () => {
    let result: { faults: ExchangeReport["faults"]; ids: number[] } | undefined;
    await withExchange(options, async (exchange) => {
      const client = await connect(ws(exchange, "/ws/btcusdt@trade"));
      await exchange.done;
      await waitFor(() => client.frames.some((frame) => frame.includes('"t":1000299,')), "the last trade");
      await disconnect(client);
      const ids = client.frames.map((frame) => validTrade(frame, new Set(["BTCUSDT"]), false)?.t ?? -1);
      result = { faults: exchange.stats().faults, ids };
    });
    return result!;
  };
  const first = await run();
  assert.ok(first.faults.bad_qty > 0 && first.faults.duplicate > 0 && first.faults.out_of_order > 0);
  assert.deepEqual(await run(), first, "same faults at the same places");
});

Deno.test("startExchange() drops a connection on a drop fault", async () => {
  await withExchange({ symbols: ["BTCUSDT"], rate: 200, faults: { drop: 1 } }, async (exchange) => {
    const client = await connect(ws(exchange, "/ws/btcusdt@trade"));
    const event = await client.closed;
    assert.equal(event.wasClean, false, "no clean close handshake");
    assert.equal(client.frames.length, 1, "the trade before the drop arrived");
    assert.equal(exchange.stats().faults.drop, 1);
    await waitFor(() => exchange.stats().connections.open === 0, "the server side to close");
  });
});

Deno.test("POST /admin/disconnect closes every WebSocket at once", async () => {
  await withExchange({ symbols: ["BTCUSDT", "ETHUSDT"], rate: 50 }, async (exchange) => {
    const clients = [
      await connect(ws(exchange, "/ws/btcusdt@trade")),
      await connect(ws(exchange, "/stream?streams=ethusdt@trade")),
    ];
    const response = await http(exchange, "/admin/disconnect", { method: "POST" });
    assert.deepEqual(await response.json(), { disconnected: 2 });
    for (const client of clients) assert.equal((await client.closed).code, 1001);
    await waitFor(() => exchange.stats().connections.open === 0, "the server side to close");
    assert.deepEqual((await stats(exchange)).connections, { open: 0, total: 2 });
  });
});

Deno.test("POST /admin/halt stops new trades while the stream and REST stay up", async () => {
  await withExchange({ symbols: ["BTCUSDT"], rate: 400 }, async (exchange) => {
    const client = await connect(ws(exchange, "/ws/btcusdt@trade"));
    await waitFor(() => client.frames.length >= 5, "trades before the halt");
    const halted: ExchangeReport = await (await http(exchange, "/admin/halt", { method: "POST" })).json();
    await delay(200);
    assert.equal(exchange.stats().trades, halted.trades, "no trade after the halt");
    await waitFor(() => client.frames.length >= halted.trades, "every trade sent before the halt");
    const trades = await (await http(exchange, "/api/v3/trades?symbol=BTCUSDT&limit=1")).json();
    assert.equal(trades[0].id, halted.symbols.BTCUSDT!.lastId);
    assert.equal(exchange.stats().connections.open, 1);
    await disconnect(client);
  });
});

Deno.test("POST /admin/stall silences connections and loses their trades, which REST still has", async () => {
  await withExchange({ symbols: ["BTCUSDT"], rate: 300 }, async (exchange) => {
    const client = await connect(ws(exchange, "/ws/btcusdt@trade"));
    await waitFor(() => client.frames.length >= 5, "trades before the stall");
    assert.deepEqual(await (await http(exchange, "/admin/stall?ms=300", { method: "POST" })).json(), {
      stalled: 1,
      ms: 300,
    });
    const atStall = client.frames.length;
    await delay(200);
    assert.ok(client.frames.length - atStall <= 1, "nothing arrives during the stall");
    await waitFor(() => client.frames.length > atStall + 5, "trades after the stall");
    await disconnect(client);
    const ids = client.frames.map((frame) => JSON.parse(frame).t as number);
    const gaps = ids.slice(1).filter((id, i) => id !== ids[i]! + 1);
    assert.equal(gaps.length, 1, "exactly one gap");
    const gapStart = ids.find((id, i) => ids[i + 1] !== undefined && ids[i + 1] !== id + 1)! + 1;
    const missed = await (await http(exchange, `/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${gapStart}&limit=1`))
      .json();
    assert.equal(missed[0].id, gapStart);
    assert.equal((await http(exchange, "/admin/stall?ms=x", { method: "POST" })).status, 400);
  });
});

Deno.test("startExchange() sends a bare serverShutdown notice, then cuts the connection at its maximum age", async () => {
  await withExchange(
    { symbols: ["BTCUSDT"], rate: 100, maxAgeSeconds: 0.6, shutdownNoticeSeconds: 0.3 },
    async (exchange) => {
      const client = await connect(ws(exchange, "/stream?streams=btcusdt@trade"));
      const started = Date.now();
      const event = await client.closed;
      assert.ok(Date.now() - started >= 450, `cut after about 0.6 s, not ${Date.now() - started} ms`);
      assert.equal(event.code, 1001);
      const notices = client.frames.filter((frame) => frame.includes("serverShutdown"));
      assert.equal(notices.length, 1);
      assert.match(notices[0]!, /^\{"e":"serverShutdown","E":\d{13}\}$/);
      assert.ok(client.frames.indexOf(notices[0]!) < client.frames.length - 1, "trades still flow after the notice");
    },
  );
});

Deno.test("startExchange() pings and drops a client that never answers, keeping one that does", async () => {
  await withExchange({ symbols: ["BTCUSDT"], rate: 0, pingIntervalSeconds: 0.25 }, async (exchange) => {
    const answering = await connect(ws(exchange, "/ws/btcusdt@trade"));
    // A raw TCP client completes the handshake and then never reads, so it never pongs.
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: exchange.port });
    try {
      await silent.write(new TextEncoder().encode(
        "GET /ws/btcusdt@trade HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ));
      await waitFor(() => exchange.stats().connections.total === 2, "the silent client to connect");
      await waitFor(() => exchange.stats().connections.open === 1, "the silent client to be dropped", 3000);
      await delay(400);
      assert.equal(answering.socket.readyState, WebSocket.OPEN, "a client answering pings stays connected");
    } finally {
      silent.close();
      await disconnect(answering);
    }
  });
});

Deno.test("startExchange() refuses unknown or malformed streams with HTTP 400 and a message", async () => {
  await withExchange({ symbols: ["BTCUSDT"], rate: 0 }, async (exchange) => {
    for (const path of ["/ws/dogeusdt@trade", "/ws/BTCUSDT@trade", "/stream?streams=btcusdt@kline_1m"]) {
      const response = await http(exchange, path, { headers: { Upgrade: "websocket" } });
      assert.equal(response.status, 400, path);
      assert.match(await response.text(), /^Cannot subscribe to stream/);
    }
    const notFound = await http(exchange, "/nowhere");
    assert.equal(notFound.status, 404);
    await notFound.body?.cancel();
  });
});

Deno.test("startExchange() answers 429 with Retry-After past the weight limit", async () => {
  await withExchange({ symbols: ["BTCUSDT"], rate: 0, weightLimit: 30 }, async (exchange) => {
    const first = await http(exchange, "/api/v3/trades?symbol=BTCUSDT");
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("X-MBX-USED-WEIGHT-1M"), "25");
    await first.body?.cancel();
    const second = await http(exchange, "/api/v3/trades?symbol=BTCUSDT");
    assert.equal(second.status, 429);
    assert.ok(Number(second.headers.get("Retry-After")) >= 1);
    assert.equal((await second.json()).code, -1003);
    assert.deepEqual((await stats(exchange)).rest, { requests: 2, throttled: 1 });
  });
});

Deno.test("startExchange() replays a CSV with its own ids, prices and times, skipping bad lines", async () => {
  const dir = await makeTestDir("exchange-replay");
  const path = resolve(dir, "BTCUSDT-trades.csv");
  const t0 = 1_735_689_600_010_866; // µs, as 2025 spot files are
  const lines = ["4375185450,93576.00000000,0.00011000,10.29336000,1735689600010866,False,True", "not,a,trade"];
  for (let i = 1; i <= 40; i++) {
    lines.push(`${4375185450 + i},93576.0${i % 10},0.0${i}00,1.0,${t0 + 300_000 + i * 1000},True,True`);
  }
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  try {
    await withExchange(
      { replay: { path, symbol: "BTCUSDT", speed: 1 }, exitAfterMax: true },
      async (exchange) => {
        const client = await connect(ws(exchange, "/ws/btcusdt@trade?timeUnit=MICROSECOND"));
        assert.equal(await exchange.done, "replay-finished");
        await waitFor(() => client.frames.some((f) => f.includes('"t":4375185490,')), "the last replayed trade");
        await disconnect(client);
        assert.equal(
          client.frames.find((frame) => frame.includes('"t":4375185451,')),
          `{"e":"trade","E":${t0 + 301_000},"s":"BTCUSDT","t":4375185451,"p":"93576.01000000","q":"0.01000000",` +
            `"T":${t0 + 301_000},"m":true,"M":true}`,
        );
        const report = exchange.stats();
        assert.deepEqual(report.symbols.BTCUSDT, { firstId: 4375185450, lastId: 4375185490, count: 41 });
        assert.deepEqual(report.replay, { rejectedLines: 1, finished: true });
        const [first] = await (await http(exchange, "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=0&limit=1"))
          .json();
        assert.deepEqual(first, {
          id: 4375185450,
          price: "93576.00000000",
          qty: "0.00011000",
          quoteQty: "10.29336000",
          time: 1735689600010,
          isBuyerMaker: false,
          isBestMatch: true,
        });
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
