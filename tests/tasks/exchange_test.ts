/** `deno task exchange` as a user runs it: the listening line, streams, REST, the report on exit, bad flags. */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { makeTestDir, runDenoTask } from "../helpers/tasks.ts";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";
import { parseUnits } from "../../tasks/lib/decimal.ts";
import { buildKlines, type KlineRow } from "../../tasks/lib/exchange/klines.ts";
import type { Trade } from "../../tasks/lib/exchange/market.ts";
import type { RestTrade } from "../../tasks/lib/exchange/encode.ts";
import { connect, disconnect, type TradeEvent, validTrade, waitFor } from "./lib/exchange/_sockets.ts";

/** A running `deno task exchange`, its stdout read line by line and its stderr collected. */
class ExchangeProcess {
  readonly child: Deno.ChildProcess;
  readonly stderr: Promise<string>;
  #lines: AsyncIterator<string>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "exchange", ...args],
      cwd: PROJECT_ROOT,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stderr = new Response(this.child.stderr).text();
    this.#lines = lines(this.child.stdout)[Symbol.asyncIterator]();
  }

  async nextJsonLine(): Promise<Record<string, unknown>> {
    const { value, done } = await this.#lines.next();
    if (done) assert.fail(`stdout ended early; stderr: ${await this.stderr}`);
    return JSON.parse(value);
  }

  /** SIGTERM, then the report line and the exit code. */
  async stop(): Promise<{ report: Record<string, unknown>; code: number }> {
    this.child.kill("SIGTERM");
    const report = await this.nextJsonLine();
    const { code } = await this.child.status;
    return { report, code };
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

function asTrade(symbol: string, rest: RestTrade): Trade {
  return {
    symbol,
    id: rest.id,
    price: parseUnits(rest.price),
    qty: parseUnits(rest.qty),
    quoteQty: parseUnits(rest.quoteQty),
    timeUs: rest.time * 1000,
    eventTimeUs: rest.time * 1000,
    isBuyerMaker: rest.isBuyerMaker,
  };
}

Deno.test("exchange task streams contiguous trades that REST and klines agree with, and reports on SIGTERM", async () => {
  const symbols = ["BTCUSDT", "ETHUSDT"];
  const exchange = new ExchangeProcess([
    ...["--port", "0", "--symbols", symbols.join(","), "--rate", "500", "--seed", "7"],
    ...["--max-trades", "1000", "--progress-interval", "0.5"],
  ]);
  let stopped = false;
  try {
    const listening = await exchange.nextJsonLine();
    assert.deepEqual(Object.keys(listening), ["event", "host", "port", "symbols", "seed"]);
    assert.deepEqual({ ...listening, port: 0 }, { event: "listening", host: "127.0.0.1", port: 0, symbols, seed: 7 });
    const base = `127.0.0.1:${listening.port}`;

    const client = await connect(`ws://${base}/stream?streams=btcusdt@trade/ethusdt@trade`);
    const stats = async () => await (await fetch(`http://${base}/admin/stats`)).json();
    await waitFor(() => client.frames.length > 0, "the first trade");
    let report = await stats();
    while (report.trades < 1000) report = await stats();
    await waitFor(
      () => symbols.every((s) => client.frames.some((f) => f.includes(`"s":"${s}","t":${report.symbols[s].lastId},`))),
      "the last trades",
    );
    await disconnect(client);

    for (const frame of client.frames) {
      assert.match(frame, /^\{"stream":"(btc|eth)usdt@trade","data":\{"e":"trade","E":\d{13},"s":"(BTC|ETH)USDT",/);
      assert.match(frame, /,"t":\d+,"p":"\d+\.\d{8}","q":"\d+\.\d{8}","T":\d{13},"m":(true|false),"M":true\}\}$/);
    }
    const received = client.frames.map((frame) => validTrade(frame, new Set(symbols), true)!);
    assert.ok(received.every((trade) => trade !== undefined));

    for (const symbol of symbols) {
      const mine = received.filter((trade: TradeEvent) => trade.s === symbol);
      const ids = mine.map((trade) => trade.t);
      assert.deepEqual(ids, ids.map((_, i) => ids[0]! + i), `${symbol} ids are contiguous`);
      assert.equal(ids.at(-1), report.symbols[symbol].lastId);

      const all: RestTrade[] = await (await fetch(
        `http://${base}/api/v3/historicalTrades?symbol=${symbol}&fromId=0&limit=1000`,
      )).json();
      assert.equal(all.length, report.symbols[symbol].count);
      const byId = new Map(all.map((trade) => [trade.id, trade]));
      for (const trade of mine) {
        const rest = byId.get(trade.t)!;
        assert.deepEqual([rest.price, rest.qty, rest.time, rest.isBuyerMaker], [trade.p, trade.q, trade.T, trade.m]);
      }

      const klines = await (await fetch(`http://${base}/api/v3/klines?symbol=${symbol}&interval=1m`))
        .json();
      assert.deepEqual(klines, buildKlines(all.map((trade) => asTrade(symbol, trade)), 60_000, "ms"));
      assert.equal(klines.reduce((sum: number, row: KlineRow) => sum + row[8], 0), all.length);
    }

    const { report: final, code } = await exchange.stop();
    stopped = true;
    assert.equal(code, 0);
    assert.deepEqual({ ...final, rest: undefined }, {
      event: "stopped",
      reason: "signal",
      ...report,
      connections: { open: 0, total: 1 },
      rest: undefined,
    });
    assert.match(await exchange.stderr, /^exchange: [\d.]+ trades\/s, \d+ connections open, \d+ trades in total$/m);
  } finally {
    if (!stopped) {
      // SIGTERM, not SIGKILL: deno task forwards it to the exchange, while SIGKILL would orphan the exchange.
      exchange.child.kill("SIGTERM");
      await exchange.child.status;
    }
    await exchange.stderr;
  }
});

Deno.test("exchange task replays a CSV under data/ as fast as possible and exits after it", async () => {
  const dir = await makeTestDir("exchange-task");
  try {
    const path = resolve(dir, "ETHUSDT-trades-2024-01-01.csv");
    const rows = Array.from(
      { length: 300 },
      (_, i) => `${7000 + i},2281.1${i % 10},0.0100,22.811,${1704067200000 + i},True,True`,
    );
    await Deno.writeTextFile(path, rows.join("\n") + "\n");
    const result = await runDenoTask(
      ["exchange", "--port", "0", "--replay", path, "--symbol", "ETHUSDT", "--speed", "0", "--exit-after-max"],
    );
    assert.equal(result.code, 0, result.stderr);
    const [listening, stopped, ...rest] = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(rest, []);
    assert.equal(listening.event, "listening");
    assert.deepEqual(listening.symbols, ["ETHUSDT"]);
    assert.equal(stopped.reason, "replay-finished");
    assert.deepEqual(stopped.symbols, { ETHUSDT: { firstId: 7000, lastId: 7299, count: 300 } });
    assert.deepEqual(stopped.replay, { rejectedLines: 0, finished: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const refusals: [string[], RegExp][] = [
  [["--rate", "fast"], /^exchange: Cannot use --rate "fast": expected a number from 0 to 1000000$/],
  [["--bogus"], /^exchange: Unknown option '--bogus': run deno task exchange --help for the flags$/],
  [["--faults", "explode=1"], /^exchange: Cannot use --faults "explode=1": unknown kind/],
  [
    ["--replay", "/etc/hostname", "--symbol", "BTCUSDT"],
    /^exchange: Cannot replay "\/etc\/hostname": the task may only read files under data\/ or tests\/testdata\/$/,
  ],
  [
    ["--replay", "data/no-such-file.csv", "--symbol", "BTCUSDT"],
    /^exchange: Cannot replay "data\/no-such-file.csv": no such file$/,
  ],
  [
    ["--archive-csv", "data/no-such/BTCUSDT-trades-2024-08-01.csv"],
    /^exchange: Cannot use --archive-csv "data\/no-such\/BTCUSDT-trades-2024-08-01.csv": no such file$/,
  ],
  [
    ["--archive-fault", "explode:2024-08-01"],
    /^exchange: Cannot use --archive-fault "explode:2024-08-01": expected kind:DATE with kind one of wrong_checksum/,
  ],
];

for (const [args, message] of refusals) {
  Deno.test(`exchange task refuses ${args.join(" ")} with one line and exit code 2`, async () => {
    const result = await runDenoTask(["exchange", ...args]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr.trim(), message);
    assert.equal(result.stderr.trim().split("\n").length, 1, `one line, no stack trace:\n${result.stderr}`);
    assert.equal(result.stdout, "");
  });
}

Deno.test("exchange task with MARKET=usdm serves futures frames at /public/stream and reports non-market ids", async () => {
  const exchange = new ExchangeProcess(
    ["--port", "0", "--symbols", "BTCUSDT", "--rate", "1000", "--non-market-rate", "0.05", "--progress-interval", "0"],
    { MARKET: "usdm" },
  );
  let stopped = false;
  try {
    const listening = await exchange.nextJsonLine();
    assert.equal(listening.market, "usdm");
    const base = `127.0.0.1:${listening.port}`;
    const client = await connect(`ws://${base}/public/stream?streams=btcusdt@trade`);
    await waitFor(() => client.frames.length >= 200, "200 trades");
    await disconnect(client);
    for (const frame of client.frames) {
      assert.match(
        frame,
        /^\{"stream":"btcusdt@trade","data":\{"e":"trade","E":\d{13},"T":\d{13},"s":"BTCUSDT","t":\d+,"p":"\d+\.\d{8}","q":"\d+\.\d{8}","X":"(MARKET|INSURANCE_FUND|ADL|NA)","m":(true|false)\}\}$/,
      );
    }
    const { report, code } = await exchange.stop();
    stopped = true;
    assert.equal(code, 0);
    const symbol = (report.symbols as Record<string, { count: number; nonMarketCount: number; nonMarketIds: number[] }>)
      .BTCUSDT!;
    assert.equal(symbol.nonMarketIds.length, symbol.nonMarketCount);
    const seen = client.frames.filter((frame) => !frame.includes('"X":"MARKET"')).map((f) =>
      Number(/"t":(\d+)/.exec(f)![1])
    );
    assert.ok(seen.every((id) => symbol.nonMarketIds.includes(id)), "every non-market id seen is reported");
  } finally {
    if (!stopped) {
      exchange.child.kill("SIGTERM");
      await exchange.child.status;
    }
    await exchange.stderr;
  }
});
