/** The trade archive of startExchange() over real loopback HTTP: layout, content, prefill, given CSVs and faults. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { configure, type FileEntry, TextWriter, Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from "@zip.js/zip.js";
import { makeTestDir } from "../../../helpers/tasks.ts";
import { archiveCsvLine } from "../../../../tasks/lib/exchange/archive_csv.ts";
import { archivePath, daysOfMonth } from "../../../../tasks/lib/exchange/archive_paths.ts";
import { archiveTrades } from "../../../../tasks/lib/exchange/archive_trades.ts";
import { type ExchangeOptions, resolveExchangeOptions } from "../../../../tasks/lib/exchange/options.ts";
import type { RestTrade } from "../../../../tasks/lib/exchange/encode.ts";
import { type Exchange, startExchange } from "../../../../tasks/lib/exchange/server.ts";
import { connect, disconnect, validTrade, waitFor } from "./_sockets.ts";

configure({ useWebWorkers: false, useCompressionStream: true });

const ARCHIVE = { from: "2024-11-30", to: "2025-01-01", tradesPerDay: 40 };
const BASE: ExchangeOptions = { port: 0, seed: 7, rate: 0, symbols: ["BTCUSDT", "ETHUSDT"], archive: ARCHIVE };

async function withExchange(options: ExchangeOptions, test: (exchange: Exchange) => Promise<void>): Promise<void> {
  const exchange = await startExchange({ ...BASE, ...options });
  try {
    await test(exchange);
  } finally {
    await exchange.shutdown();
  }
}

function get(exchange: Exchange, path: string, init?: RequestInit): Promise<Response> {
  return fetch(`http://127.0.0.1:${exchange.port}${path}`, init);
}

function daily(symbol: string, date: string, checksum = false): string {
  return archivePath({ period: "daily", symbol, date }, checksum);
}

async function bytesOf(response: Response): Promise<Uint8Array> {
  assert.equal(response.status, 200, `${response.url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The zip's entries: their names and the first one's text. */
async function unzip(bytes: Uint8Array): Promise<{ names: string[]; text: string; bytes: Uint8Array }> {
  const reader = new ZipReader(new Uint8ArrayReader(bytes));
  const entries = await reader.getEntries();
  const entry = entries[0] as FileEntry;
  const data = await entry.getData(new Uint8ArrayWriter());
  const text = await (entries[0] as FileEntry).getData(new TextWriter());
  await reader.close();
  return { names: entries.map((e) => e.filename), text, bytes: data };
}

function expectedCsv(options: ExchangeOptions, symbol: string, days: string[]): string {
  const resolved = resolveExchangeOptions({ ...BASE, ...options });
  const header = resolved.archiveHeader;
  const lines = days.flatMap((day) =>
    [...archiveTrades(resolved, symbol, day)].map((trade) =>
      archiveCsvLine(trade, { header, unit: day < "2025-01-01" ? "ms" : "us" })
    )
  );
  return (header ? "id,price,qty,quote_qty,time,is_buyer_maker\n" : "") + lines.join("");
}

Deno.test("startExchange() archive serves each day's zip of one CSV, and a sha256sum CHECKSUM of it", async () => {
  await withExchange({}, async (exchange) => {
    const zip = await bytesOf(await get(exchange, daily("BTCUSDT", "2024-12-31")));
    const checksum = await (await get(exchange, daily("BTCUSDT", "2024-12-31", true))).text();
    assert.equal(checksum, `${sha256(zip)}  BTCUSDT-trades-2024-12-31.zip\n`);
    const { names, text } = await unzip(zip);
    assert.deepEqual(names, ["BTCUSDT-trades-2024-12-31.csv"]);
    assert.equal(text, expectedCsv({}, "BTCUSDT", ["2024-12-31"]));
    const lines = text.split("\n");
    assert.equal(lines.pop(), "", "every line ends with a newline");
    assert.equal(lines.length, 40);
    for (const line of lines) assert.match(line, /^\d+,\d+\.\d{8},\d+\.\d{8},\d+\.\d{8},\d{13},(True|False),True$/);

    const head = await get(exchange, daily("BTCUSDT", "2024-12-31"), { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(zip.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });
});

Deno.test("startExchange() archive writes ms before 2025-01-01 and µs from then on, unless archiveTimeUnit says", async () => {
  await withExchange({}, async (exchange) => {
    const ms = (await unzip(await bytesOf(await get(exchange, daily("ETHUSDT", "2024-12-31"))))).text;
    const us = (await unzip(await bytesOf(await get(exchange, daily("ETHUSDT", "2025-01-01"))))).text;
    assert.match(ms.split("\n")[0]!, /,\d{13},(True|False),True$/);
    assert.match(us.split("\n")[0]!, /,\d{16},(True|False),True$/);
  });
  await withExchange({ archiveTimeUnit: "us" }, async (exchange) => {
    const text = (await unzip(await bytesOf(await get(exchange, daily("ETHUSDT", "2024-12-31"))))).text;
    assert.match(text.split("\n")[0]!, /,\d{16},(True|False),True$/);
  });
});

Deno.test("startExchange() archive with archiveHeader writes futures-style CSVs", async () => {
  await withExchange({ archiveHeader: true }, async (exchange) => {
    const { text } = await unzip(await bytesOf(await get(exchange, daily("BTCUSDT", "2024-12-01"))));
    const lines = text.split("\n");
    assert.equal(lines[0], "id,price,qty,quote_qty,time,is_buyer_maker");
    assert.match(lines[1]!, /^\d+,\d+\.\d{8},\d+\.\d{8},\d+\.\d{8},\d{13},(true|false)$/);
    assert.equal(text, expectedCsv({ archiveHeader: true }, "BTCUSDT", ["2024-12-01"]));
  });
});

Deno.test("startExchange() archive is deterministic, ids run on across days, monthly = the dailies in order", async () => {
  const first = await withCsvs({}, ["2024-11-30", "2024-12-01"]);
  const again = await withCsvs({}, ["2024-11-30", "2024-12-01"]);
  assert.deepEqual(again, first, "same seed, same files");
  await withExchange({}, async (exchange) => {
    const ids = [];
    const dailies = [];
    for (const day of daysOfMonth("2024-12")) {
      const text = (await unzip(await bytesOf(await get(exchange, daily("BTCUSDT", day))))).text;
      dailies.push(text);
      ids.push(...text.trimEnd().split("\n").map((line) => Number(line.split(",")[0])));
    }
    // 2024-12-01 is day 1 of the range, so its first id is startId + 1 × tradesPerDay.
    assert.deepEqual(ids, ids.map((_, i) => 1_000_040 + i));
    const monthly = archivePath({ period: "monthly", symbol: "BTCUSDT", date: "2024-12" });
    const { names, text } = await unzip(await bytesOf(await get(exchange, monthly)));
    assert.deepEqual(names, ["BTCUSDT-trades-2024-12.csv"]);
    assert.equal(text, dailies.join(""));
    const checksum = await (await get(exchange, `${monthly}.CHECKSUM`)).text();
    assert.match(checksum, /^[0-9a-f]{64} {2}BTCUSDT-trades-2024-12\.zip\n$/);
  });
});

async function withCsvs(options: ExchangeOptions, days: string[]): Promise<string[]> {
  const texts: string[] = [];
  await withExchange(options, async (exchange) => {
    for (const day of days) texts.push((await unzip(await bytesOf(await get(exchange, daily("ETHUSDT", day))))).text);
  });
  return texts;
}

Deno.test("startExchange() archive answers 404 for files it does not hold", async () => {
  await withExchange({}, async (exchange) => {
    for (
      const path of [
        daily("BTCUSDT", "2024-11-29"), // before the range
        daily("BTCUSDT", "2025-01-02", true), // after it
        daily("SOLUSDT", "2024-12-01"), // not served
        archivePath({ period: "monthly", symbol: "BTCUSDT", date: "2024-11" }), // not wholly inside
        archivePath({ period: "monthly", symbol: "BTCUSDT", date: "2025-01" }),
        "/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-12-01.zip",
      ]
    ) {
      const response = await get(exchange, path);
      await response.body?.cancel();
      assert.equal(response.status, 404, path);
    }
    assert.equal(exchange.stats().archive.missing, 6);
  });
});

Deno.test("startExchange() archive builds a zip once for concurrent first requests, in archiveCacheDir", async () => {
  const cache = await makeTestDir("exchange-archive-cache");
  try {
    await withExchange({ archiveCacheDir: cache }, async (exchange) => {
      const zips = await Promise.all(
        Array.from({ length: 6 }, async () => await bytesOf(await get(exchange, daily("BTCUSDT", "2024-12-02")))),
      );
      assert.ok(zips.every((zip) => sha256(zip) === sha256(zips[0]!)));
      const files = [];
      for await (const folder of Deno.readDir(cache)) {
        for await (const file of Deno.readDir(join(cache, folder.name))) files.push(file.name);
      }
      assert.deepEqual(files.sort(), ["BTCUSDT-trades-2024-12-02.zip", "BTCUSDT-trades-2024-12-02.zip.sha256"]);
      assert.equal(exchange.stats().archive.zips, 6);
    });
    // A second exchange with the same settings reuses the zip an earlier run left.
    await withExchange({ archiveCacheDir: cache }, async (exchange) => {
      const zip = await bytesOf(await get(exchange, daily("BTCUSDT", "2024-12-02")));
      assert.equal((await unzip(zip)).text, expectedCsv({}, "BTCUSDT", ["2024-12-02"]));
    });
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("startExchange() archive serves a given CSV byte for byte as that day's zip", async () => {
  const dir = await makeTestDir("exchange-archive-csv");
  try {
    // Not how the exchange would write it (a header, CRLF, few decimals): it must come back untouched.
    const csv =
      "id,price,qty,quote_qty,time,is_buyer_maker\r\n7,1.5,2,3,1722470400000,true\r\n8,1.5,2,3,1722470400001,false";
    const path = join(dir, "XRPUSDT-trades-2024-08-01.csv");
    await Deno.writeTextFile(path, csv);
    await withExchange({ archiveCsv: [path] }, async (exchange) => {
      const zip = await bytesOf(await get(exchange, daily("XRPUSDT", "2024-08-01")));
      const { names, bytes } = await unzip(zip);
      assert.deepEqual(names, ["XRPUSDT-trades-2024-08-01.csv"]);
      assert.deepEqual(bytes, new TextEncoder().encode(csv));
      const checksum = await (await get(exchange, daily("XRPUSDT", "2024-08-01", true))).text();
      assert.equal(checksum, `${sha256(zip)}  XRPUSDT-trades-2024-08-01.zip\n`);
    });
    await assert.rejects(startExchange({ ...BASE, archiveCsv: [join(dir, "BTCUSDT-trades-2024-08-02.csv")] }));
    await assert.rejects(startExchange({ ...BASE, archiveCsv: [join(dir, "trades.csv")] }), TypeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startExchange() archive faults: wrong_checksum, not_found and truncated, set and cleared at run time", async () => {
  const options = { archiveFaults: { "2024-12-03": "wrong_checksum", "2024-12": "not_found" } } as const;
  await withExchange(options, async (exchange) => {
    const zip = await bytesOf(await get(exchange, daily("BTCUSDT", "2024-12-03")));
    const wrong = (await (await get(exchange, daily("BTCUSDT", "2024-12-03", true))).text()).split("  ")[0]!;
    assert.match(wrong, /^[0-9a-f]{64}$/);
    assert.notEqual(wrong, sha256(zip));

    const monthly = archivePath({ period: "monthly", symbol: "BTCUSDT", date: "2024-12" });
    for (const path of [monthly, `${monthly}.CHECKSUM`]) {
      const response = await get(exchange, path);
      await response.body?.cancel();
      assert.equal(response.status, 404, path);
    }

    const set = await get(exchange, "/admin/archive-fault?kind=truncated&date=2024-12-04", { method: "POST" });
    assert.deepEqual((await set.json()).faults["2024-12-04"], "truncated");
    const whole = await (await fetch(`http://127.0.0.1:${exchange.port}${daily("ETHUSDT", "2024-12-05")}`)).bytes();
    const cut = await bytesOf(await get(exchange, daily("BTCUSDT", "2024-12-04")));
    const cutChecksum = (await (await get(exchange, daily("BTCUSDT", "2024-12-04", true))).text()).split("  ")[0];
    assert.equal(cutChecksum, sha256(cut), "the checksum matches the broken file");
    await assert.rejects(unzip(cut), "a half zip does not unzip");
    assert.ok(whole.length > 0);

    for (const clear of ["/admin/archive-fault?date=2024-12-04", "/admin/archive-fault?date=2024-12-03"]) {
      await (await get(exchange, clear, { method: "DELETE" })).body?.cancel();
    }
    await (await get(exchange, "/admin/archive-fault?kind=none&date=2024-12", { method: "POST" })).body?.cancel();
    const fixed = await bytesOf(await get(exchange, daily("BTCUSDT", "2024-12-04")));
    assert.equal(fixed.length, cut.length * 2 + (fixed.length % 2));
    const fixedChecksum = await (await get(exchange, daily("BTCUSDT", "2024-12-04", true))).text();
    assert.equal(fixedChecksum.split("  ")[0], sha256(fixed));
    assert.equal(
      (await (await get(exchange, daily("BTCUSDT", "2024-12-03", true))).text()).split("  ")[0],
      sha256(zip),
    );
    assert.equal((await get(exchange, `${monthly}.CHECKSUM`)).status, 200);

    const bad = await get(exchange, "/admin/archive-fault?kind=explode&date=2024-12-04", { method: "POST" });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const { faults } = exchange.stats().archive;
    assert.deepEqual(faults, { wrong_checksum: 1, not_found: 2, truncated: 1, slow: 0, drop: 0 });
  });
});

Deno.test("startExchange() archive fault drop sends half the promised bytes, then cuts the connection", async () => {
  await withExchange(
    { archiveFaults: { "*": "drop" }, archive: { ...ARCHIVE, tradesPerDay: 5000 } },
    async (exchange) => {
      const response = await get(exchange, daily("BTCUSDT", "2024-12-06"));
      const promised = Number(response.headers.get("content-length"));
      let received = 0;
      await assert.rejects(async () => {
        for await (const chunk of response.body!) received += chunk.length;
      });
      assert.ok(received < promised, `${received} of ${promised} bytes`);
      assert.equal(exchange.stats().archive.faults.drop, 1);
    },
  );
});

Deno.test("startExchange() archive fault slow sends the start, then nothing until the client gives up", async () => {
  await withExchange({ archiveFaults: { "2024-12-07": "slow" } }, async (exchange) => {
    const client = new AbortController();
    const response = await get(exchange, daily("BTCUSDT", "2024-12-07"), { signal: client.signal });
    const promised = Number(response.headers.get("content-length"));
    const reader = response.body!.getReader();
    let received = 0;
    const first = await reader.read();
    received += first.value?.length ?? 0;
    assert.ok(received > 0 && received < promised, `${received} of ${promised} bytes`);
    const nothing = await Promise.race([reader.read(), new Promise((resolve) => setTimeout(resolve, 500, "quiet"))]);
    assert.equal(nothing, "quiet", "nothing more within 500 ms");
    client.abort();
    await reader.read().catch(() => {});
    assert.equal(exchange.stats().archive.faults.slow, 1);
  });
});

Deno.test("startExchange() prefill makes REST cover the window, the archive serve it, and live ids continue", async () => {
  const options: ExchangeOptions = {
    symbols: ["BTCUSDT"],
    rate: 4,
    prefillMinutes: 3,
    waitForClient: true,
    archive: undefined,
  };
  await withExchange(options, async (exchange) => {
    const startedMs = Date.now();
    const report = exchange.stats();
    assert.equal(report.prefilled, 720);
    assert.deepEqual(report.symbols.BTCUSDT, { firstId: 1_000_000, lastId: 1_000_719, count: 720 });

    const rest: RestTrade[] = await (await get(exchange, "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=0&limit=1000"))
      .json();
    assert.deepEqual(rest.map((trade) => trade.id), rest.map((_, i) => 1_000_000 + i));
    assert.equal(rest.length, 720);
    assert.ok(rest[0]!.time >= startedMs - 3 * 60_000 - 1000 && rest[0]!.time < startedMs - 3 * 60_000 + 1000);
    assert.ok(rest.at(-1)!.time <= startedMs);
    const klines =
      await (await get(exchange, `/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${rest[0]!.time - 60_000}`))
        .json();
    assert.equal(klines.reduce((sum: number, row: [number, ...unknown[]]) => sum + Number(row[8]), 0), 720);

    // The archive's day files of the prefilled days hold exactly those trades.
    const days = [...new Set(rest.map((trade) => new Date(trade.time).toISOString().slice(0, 10)))];
    let lines: string[] = [];
    for (const day of days) {
      const { text } = await unzip(await bytesOf(await get(exchange, daily("BTCUSDT", day))));
      lines = lines.concat(text.trimEnd().split("\n"));
    }
    assert.equal(lines.length, 720);
    assert.deepEqual(lines.map((line) => Number(line.split(",")[0])), rest.map((trade) => trade.id));
    assert.deepEqual(
      lines.map((line) => line.split(",").slice(1, 4)),
      rest.map((trade) => [trade.price, trade.qty, trade.quoteQty]),
    );
    assert.ok(lines.every((line) => /,\d{16},(True|False),True$/.test(line)), "µs times, as from 2025");

    const client = await connect(`ws://127.0.0.1:${exchange.port}/ws/btcusdt@trade`);
    await waitFor(() => client.frames.length >= 3, "live trades");
    await disconnect(client);
    const live = client.frames.map((frame) => validTrade(frame, new Set(["BTCUSDT"]), false)!);
    assert.equal(live[0]!.t, 1_000_720, "live ids go on after the prefill");
    assert.ok(live[0]!.T >= rest.at(-1)!.time);
  });
});
