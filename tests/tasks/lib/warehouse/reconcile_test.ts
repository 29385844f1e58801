import assert from "node:assert/strict";
import {
  candleValues,
  type ComparedField,
  compareMinute,
  type MinuteValues,
  ourUnits,
  parseKline,
} from "../../../../tasks/lib/warehouse/kline_compare.ts";
import {
  type DueMinute,
  klinesUrl,
  lastCheckableMinuteMs,
  planRequests,
  selectMinutes,
} from "../../../../tasks/lib/warehouse/kline_plan.ts";
import { fetchKlines, KlinesFetchError, RateLimitedError } from "../../../../tasks/lib/warehouse/klines_client.ts";
import { formatReport, type MinuteResult } from "../../../../tasks/lib/warehouse/reconcile.ts";

const T0 = Date.UTC(2025, 0, 1, 0, 0); // 2025-01-01 00:00 UTC
const MIN = 60_000;

/** A kline as GET /api/v3/klines sends it. */
const KLINE = [
  T0,
  "93000.01000000",
  "93010.00000000",
  "92990.50000000",
  "93005.00000000",
  "0.01500000",
  T0 + 59_999,
  "1395.07500000",
  3,
  "0.01000000",
  "930.05000000",
  "0",
];

/** Our candle for the same minute, as DuckDB prints its DECIMALs (quote volumes with 16 decimals). */
const CANDLE: Record<ComparedField, string> = {
  open: "93000.01000000",
  high: "93010.00000000",
  low: "92990.50000000",
  close: "93005.00000000",
  volume: "0.01500000",
  quote_volume: "1395.0750000000000000",
  trade_count: "3",
  taker_buy_volume: "0.01000000",
  taker_buy_quote_volume: "930.0500000000000000",
};

Deno.test("parseKline() reads every field exactly as units, never as floats", () => {
  const kline = parseKline(KLINE);
  assert.equal(kline.openTimeMs, T0);
  assert.equal(kline.values.open, 9_300_001_000_000n);
  assert.equal(kline.values.quote_volume, 139_507_500_000n);
  assert.equal(kline.values.trade_count, 3);
  assert.equal(kline.values.taker_buy_volume, 1_000_000n);
});

Deno.test("parseKline() rejects other intervals, missing fields and non-decimal strings", () => {
  assert.throws(() => parseKline([T0, "1"]), TypeError);
  assert.throws(() => parseKline([...KLINE.slice(0, 6), T0 + 299_999, ...KLINE.slice(7)]), /1m open and close/);
  assert.throws(() => parseKline([...KLINE.slice(0, 5), 0.015, ...KLINE.slice(6)]), TypeError);
  assert.throws(() => parseKline([...KLINE.slice(0, 5), "1e-2", ...KLINE.slice(6)]), SyntaxError);
  assert.throws(() => parseKline([...KLINE.slice(0, 8), 2.5, ...KLINE.slice(9)]), /whole number of trades/);
});

Deno.test("ourUnits() truncates extra decimals only when told, and refuses to round a price silently", () => {
  assert.equal(ourUnits("1395.0750000099999999", "truncate"), 139_507_500_000n);
  assert.equal(ourUnits("0.01500000000000", "exact"), 1_500_000n);
  assert.equal(ourUnits("7", "exact"), 700_000_000n);
  assert.throws(() => ourUnits("0.015000001", "exact"), RangeError);
  assert.throws(() => ourUnits("-1.5", "exact"), SyntaxError);
});

Deno.test("compareMinute() matches a candle equal to the kline on all nine fields", () => {
  assert.deepEqual(compareMinute(candleValues(CANDLE), parseKline(KLINE).values), {
    status: "match",
    mismatchedFields: [],
    differences: {},
  });
});

Deno.test("compareMinute() truncates our exact quote volume to the exchange's 8 decimals before comparing", () => {
  const ours = candleValues({ ...CANDLE, quote_volume: "1395.0750000070000000" });
  assert.equal(compareMinute(ours, parseKline(KLINE).values).status, "match");
  const short = candleValues({ ...CANDLE, quote_volume: "1395.0749999970000000" });
  assert.deepEqual(compareMinute(short, parseKline(KLINE).values).differences, {
    quote_volume: { ours: "1395.07499999", exchange: "1395.07500000", difference: "-0.00000001" },
  });
});

Deno.test("compareMinute() names each differing field with both values and ours minus exchange", () => {
  const ours = candleValues({
    ...CANDLE,
    close: "93004.00000000",
    volume: "0.01400000",
    quote_volume: "1302.07000000",
    trade_count: "2",
  });
  const check = compareMinute(ours, parseKline(KLINE).values);
  assert.equal(check.status, "mismatch");
  assert.deepEqual(check.mismatchedFields, ["close", "volume", "quote_volume", "trade_count"]);
  assert.deepEqual(check.differences.close, {
    ours: "93004.00000000",
    exchange: "93005.00000000",
    difference: "-1.00000000",
  });
  assert.deepEqual(check.differences.trade_count, { ours: 2, exchange: 3, difference: -1 });
});

Deno.test("compareMinute() reports a side without trades as missing, comparing only the additive fields", () => {
  const exchange = parseKline(KLINE).values;
  const missingCandle = compareMinute(undefined, exchange);
  assert.equal(missingCandle.status, "missing_candle");
  assert.deepEqual(missingCandle.mismatchedFields, [
    "volume",
    "quote_volume",
    "trade_count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
  ]);
  assert.deepEqual(missingCandle.differences.volume, {
    ours: "0.00000000",
    exchange: "0.01500000",
    difference: "-0.01500000",
  });

  // Binance answers a quiet minute with a flat kline at the previous close and zero trades.
  const flat: MinuteValues = { ...exchange, volume: 0n, quote_volume: 0n, trade_count: 0, taker_buy_volume: 0n };
  const missingKline = compareMinute(candleValues(CANDLE), { ...flat, taker_buy_quote_volume: 0n });
  assert.equal(missingKline.status, "missing_kline");
  assert.deepEqual(missingKline.differences.trade_count, { ours: 3, exchange: 0, difference: 3 });
  assert.equal(compareMinute(candleValues(CANDLE), undefined).status, "missing_kline");
});

Deno.test("compareMinute() calls a minute where neither side traded a match", () => {
  const flat: MinuteValues = { ...parseKline(KLINE).values, trade_count: 0 };
  assert.deepEqual(compareMinute(undefined, flat), { status: "match", mismatchedFields: [], differences: {} });
  assert.equal(compareMinute(undefined, undefined).status, "match");
});

Deno.test("lastCheckableMinuteMs() waits for the minute to close plus the settle time, before the last refresh", () => {
  // now 00:05:30, settle 60 s: 00:03 closed at 00:04 and settled at 00:05; 00:04 settles only at 00:06
  assert.equal(lastCheckableMinuteMs(T0 + 5.5 * MIN, undefined, 60_000), T0 + 3 * MIN);
  assert.equal(lastCheckableMinuteMs(T0 + 5 * MIN, undefined, 60_000), T0 + 3 * MIN);
  assert.equal(lastCheckableMinuteMs(T0 + 5 * MIN - 1, undefined, 60_000), T0 + 2 * MIN);
  // the candles are as of the last refresh (00:02:10): nothing the refresh could not have seen settled
  assert.equal(lastCheckableMinuteMs(T0 + 5.5 * MIN, T0 + 2 * MIN + 10_000, 60_000), T0);
  assert.equal(lastCheckableMinuteMs(T0 + 5.5 * MIN, T0 + 9 * MIN, 0), T0 + 4 * MIN);
});

Deno.test("selectMinutes() takes changed candles first, then rechecks, then new minutes, oldest first, capped", () => {
  const due: DueMinute[] = [
    { pair: "ETHUSDT", minuteMs: T0 + MIN, reason: "new" },
    { pair: "BTCUSDT", minuteMs: T0 + MIN, reason: "new" },
    { pair: "BTCUSDT", minuteMs: T0 + 9 * MIN, reason: "recheck" },
    { pair: "BTCUSDT", minuteMs: T0 + 5 * MIN, reason: "changed" },
    { pair: "BTCUSDT", minuteMs: T0, reason: "new" },
    { pair: "BTCUSDT", minuteMs: T0 + 5 * MIN, reason: "recheck" },
  ];
  const keys = (minutes: DueMinute[]) => minutes.map((m) => `${m.reason} ${m.pair} ${(m.minuteMs - T0) / MIN}`);
  assert.deepEqual(keys(selectMinutes(due, 10)), [
    "changed BTCUSDT 5",
    "recheck BTCUSDT 9",
    "new BTCUSDT 0",
    "new BTCUSDT 1",
    "new ETHUSDT 1",
  ]);
  assert.deepEqual(keys(selectMinutes(due, 3)), ["changed BTCUSDT 5", "recheck BTCUSDT 9", "new BTCUSDT 0"]);
});

Deno.test("planRequests() spans up to 1000 minutes per pair in one request, oldest first", () => {
  const minutes = [
    ...Array.from({ length: 1500 }, (_, i) => ({ pair: "BTCUSDT", minuteMs: T0 + i * MIN })),
    { pair: "ETHUSDT", minuteMs: T0 + 10 * MIN },
    { pair: "ETHUSDT", minuteMs: T0 + 20 * MIN }, // the minutes between are checked already: fetched, not used
    { pair: "ETHUSDT", minuteMs: T0 + 20 * MIN },
  ];
  const { requests, deferredMinutes } = planRequests(minutes);
  assert.equal(deferredMinutes, 0);
  assert.deepEqual(
    requests.map((r) => [r.pair, (r.firstMinuteMs - T0) / MIN, (r.lastMinuteMs - T0) / MIN, r.limit, r.minutes.length]),
    [
      ["BTCUSDT", 0, 999, 1000, 1000],
      ["ETHUSDT", 10, 20, 11, 2],
      ["BTCUSDT", 1000, 1499, 500, 500],
    ],
  );
});

Deno.test("planRequests() sends only what the weight budget pays for and defers the rest", () => {
  const minutes = Array.from({ length: 5 }, (_, i) => ({ pair: "BTCUSDT", minuteMs: T0 + i * 2000 * MIN }));
  const { requests, deferredMinutes } = planRequests(minutes, { weightBudget: 6 });
  assert.equal(requests.length, 3); // 2 weight each
  assert.equal(deferredMinutes, 2);
  assert.throws(() => planRequests([{ pair: "BTCUSDT", minuteMs: T0 + 1 }]), RangeError);
});

Deno.test("klinesUrl() asks for 1m klines from the first open time to the last minute's close", () => {
  const url = klinesUrl(new URL("http://127.0.0.1:9443"), {
    pair: "BTCUSDT",
    firstMinuteMs: T0,
    lastMinuteMs: T0 + 2 * MIN,
    limit: 3,
    minutes: [T0, T0 + 2 * MIN],
  });
  assert.equal(
    url.href,
    `http://127.0.0.1:9443/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${T0}&endTime=${
      T0 + 3 * MIN - 1
    }&limit=3`,
  );
});

Deno.test("klinesUrl() asks usdm's klines of /fapi/v1/klines, spot's of /api/v3/klines", () => {
  const request = { pair: "BTCUSDT", firstMinuteMs: T0, lastMinuteMs: T0, limit: 1, minutes: [T0] };
  const rest = new URL("https://fapi.binance.com");
  assert.equal(klinesUrl(rest, request, "usdm").pathname, "/fapi/v1/klines");
  assert.equal(klinesUrl(rest, request, "spot").pathname, "/api/v3/klines");
});

const REQUEST = { pair: "BTCUSDT", firstMinuteMs: T0, lastMinuteMs: T0, limit: 1, minutes: [T0] };
const REST = new URL("http://127.0.0.1:9443");

Deno.test("fetchKlines() returns the klines by open time", async () => {
  const fake = (() => Promise.resolve(Response.json([KLINE]))) as typeof fetch;
  const klines = await fetchKlines(REST, REQUEST, fake);
  assert.deepEqual([...klines.keys()], [T0]);
  assert.equal(klines.get(T0)!.close, 9_300_500_000_000n);
});

Deno.test("fetchKlines() throws RateLimitedError with the exchange's Retry-After on 429 and 418", async () => {
  const answer = (status: number, headers: Record<string, string>) =>
    (() => Promise.resolve(new Response("{}", { status, headers }))) as typeof fetch;
  const error = await fetchKlines(REST, REQUEST, answer(429, { "Retry-After": "7" })).catch((e) => e);
  assert.ok(error instanceof RateLimitedError);
  assert.equal(error.retryAfterMs, 7000);
  const ban = await fetchKlines(REST, REQUEST, answer(418, {})).catch((e) => e);
  assert.ok(ban instanceof RateLimitedError);
  assert.equal(ban.retryAfterMs, 120_000);
});

Deno.test("fetchKlines() throws KlinesFetchError on network failures, error statuses and bad bodies", async () => {
  const refused = (() => Promise.reject(new TypeError("Connection refused"))) as typeof fetch;
  await assert.rejects(
    fetchKlines(REST, REQUEST, refused),
    (e) => e instanceof KlinesFetchError && /refused/.test(e.message),
  );
  const badSymbol =
    (() => Promise.resolve(Response.json({ code: -1121, msg: "Invalid symbol." }, { status: 400 }))) as typeof fetch;
  await assert.rejects(fetchKlines(REST, REQUEST, badSymbol), /answered 400 .*Invalid symbol/);
  const notAList = (() => Promise.resolve(Response.json({ klines: [] }))) as typeof fetch;
  await assert.rejects(fetchKlines(REST, REQUEST, notAList), KlinesFetchError);
});

Deno.test("formatReport() counts every status and shows the first minutes that differ", () => {
  const mismatch: MinuteResult = {
    pair: "BTCUSDT",
    minuteMs: T0 + MIN,
    reason: "changed",
    candleHash: "x",
    ...compareMinute(candleValues({ ...CANDLE, trade_count: "2" }), parseKline(KLINE).values),
  };
  const match: MinuteResult = { ...mismatch, minuteMs: T0, ...compareMinute(undefined, undefined) };
  const text = formatReport({
    status: "checked",
    lastCheckableMs: T0 + MIN,
    results: [match, mismatch],
    requests: 1,
    deferredMinutes: 4,
    rateLimited: { status: 429, retryAfterMs: 30_000 },
  });
  assert.equal(
    text,
    "reconcile: checked 2 minutes of 1 pair in 1 klines request: 1 match, 1 mismatch, 0 missing_candle, " +
      "0 missing_kline; 4 minutes left for the next run; stopped early: the exchange answered 429, retry after 30 s\n" +
      "  BTCUSDT 2025-01-01 00:01 mismatch: trade_count ours 2 exchange 3 (-1)",
  );
  assert.match(
    formatReport({ status: "checked", lastCheckableMs: T0, results: [], requests: 0, deferredMinutes: 0 }),
    /^reconcile: nothing to check: every minute up to 2025-01-01 00:00 UTC is checked$/,
  );
});
