import assert from "node:assert/strict";
import { UsageError } from "../../../../tasks/lib/cli.ts";
import {
  EXCHANGE_DEFAULTS,
  parseExchangeArgs,
  type ResolvedExchangeOptions,
  resolveExchangeOptions,
  USAGE,
} from "../../../../tasks/lib/exchange/options.ts";

function parse(args: string[]): ResolvedExchangeOptions {
  const result = parseExchangeArgs(args);
  assert.equal(result.help, false);
  return (result as { options: ResolvedExchangeOptions }).options;
}

Deno.test("parseExchangeArgs() gives the defaults and a progress line every 5 s", () => {
  assert.deepEqual(parse([]), { ...EXCHANGE_DEFAULTS, progressSeconds: 5 });
  assert.deepEqual(parseExchangeArgs(["--help"]), { help: true });
});

Deno.test("parseExchangeArgs() reads every generator flag", () => {
  const options = parse([
    "--port=0",
    "--symbols",
    "btcusdt, ETHUSDT,btcusdt",
    "--seed=7",
    "--rate=0.5",
    "--burst-every=2",
    "--burst-size=100",
    "--history=10",
    "--start-id=1",
    "--max-trades=50",
    "--exit-after-max",
    "--duration=1.5",
    "--ping-interval=0.5",
    "--max-age=3",
    "--shutdown-notice=0.5",
    "--faults=drop=0.1,stall=0.2",
    "--stall-ms=100",
    "--weight-limit=30",
    "--progress-interval=0",
    "--wait-for-client",
  ]);
  assert.deepEqual(options, {
    market: "spot",
    nonMarketRate: 0.002,
    port: 0,
    symbols: ["BTCUSDT", "ETHUSDT"],
    seed: 7,
    rate: 0.5,
    burst: { everySeconds: 2, size: 100 },
    history: 10,
    startId: 1,
    maxTrades: 50,
    exitAfterMax: true,
    durationSeconds: 1.5,
    pingIntervalSeconds: 0.5,
    maxAgeSeconds: 3,
    shutdownNoticeSeconds: 0.5,
    faults: { drop: 0.1, stall: 0.2 },
    stallMs: 100,
    weightLimit: 30,
    replay: undefined,
    progressSeconds: 0,
    waitForClient: true,
    archive: undefined,
    archiveTimeUnit: "auto",
    archiveHeader: false,
    archiveCacheDir: undefined,
    archiveCsv: [],
    archiveFaults: {},
    archiveStallMs: 600_000,
    prefillMinutes: 0,
  });
});

Deno.test("parseExchangeArgs() reads the archive and prefill flags", () => {
  const options = parse([
    ...["--archive-from", "2024-08-01", "--archive-to", "2024-09-30", "--archive-trades-per-day", "10000000"],
    ...["--archive-csv", "data/BTCUSDT-trades-2024-08-01.csv,data/ETHUSDT-trades-2024-08.csv"],
    ...["--archive-csv", "tests/testdata/XRPUSDT-trades-2025-01-02.csv"],
    ...["--archive-fault", "wrong_checksum:2024-08-02", "--archive-fault", "drop:2024-09,slow:*"],
    ...["--archive-time-unit", "us", "--archive-header", "--archive-cache", "data/archive-cache"],
    ...["--archive-stall-ms", "2000", "--prefill-minutes", "30"],
  ]);
  assert.deepEqual(options.archive, { from: "2024-08-01", to: "2024-09-30", tradesPerDay: 10_000_000 });
  assert.deepEqual(options.archiveCsv, [
    "data/BTCUSDT-trades-2024-08-01.csv",
    "data/ETHUSDT-trades-2024-08.csv",
    "tests/testdata/XRPUSDT-trades-2025-01-02.csv",
  ]);
  assert.deepEqual(options.archiveFaults, { "2024-08-02": "wrong_checksum", "2024-09": "drop", "*": "slow" });
  assert.equal(options.archiveTimeUnit, "us");
  assert.equal(options.archiveHeader, true);
  assert.equal(options.archiveCacheDir, "data/archive-cache");
  assert.equal(options.archiveStallMs, 2000);
  assert.equal(options.prefillMinutes, 30);
  const replay = parse([
    "--replay",
    "data/x.csv",
    "--symbol",
    "BTCUSDT",
    "--archive-csv",
    "data/BTCUSDT-trades-2024-08-01.csv",
  ]);
  assert.equal(replay.archiveCsv.length, 1, "a replay can serve an archive too");
});

Deno.test("parseExchangeArgs() reads replay flags and serves only the replayed symbol", () => {
  const options = parse(["--replay", "data/trades.csv", "--symbol", "solusdt", "--speed", "0"]);
  assert.deepEqual(options.replay, { path: "data/trades.csv", symbol: "SOLUSDT", speed: 0 });
  assert.deepEqual(options.symbols, ["SOLUSDT"]);
  assert.equal(parse(["--replay", "data/x.csv", "--symbol", "BTCUSDT"]).replay?.speed, 1);
});

const refusals: [string[], RegExp][] = [
  [["--bogus"], /^Unknown option '--bogus': run deno task exchange --help/],
  [["extra"], /^Unexpected argument 'extra'/],
  [["--rate"], /^Option '--rate <value>' argument missing/],
  [["--rate", "fast"], /^Cannot use --rate "fast": expected a number from 0 to 1000000$/],
  [["--port", "70000"], /^Cannot use --port "70000": expected a whole number from 0 to 65535$/],
  [["--history", "1.5"], /^Cannot use --history "1.5": expected a whole number from 1 to/],
  [["--symbols", "BTC-USDT"], /^Cannot use --symbols "BTC-USDT": expected 1 to 1024 comma-separated symbols/],
  [["--faults", "explode=0.1"], /^Cannot use --faults "explode=0.1": unknown kind, expected one of malformed_json/],
  [["--faults", "drop=3"], /^Cannot use --faults "drop=3": expected a rate from 0 to 1$/],
  [["--burst-every", "2"], /^Cannot burst: expected both --burst-every S and --burst-size N$/],
  [["--exit-after-max"], /^Cannot use --exit-after-max without --max-trades N/],
  [["--max-age", "1", "--shutdown-notice", "2"], /^Cannot use --shutdown-notice "2": expected less than --max-age/],
  [["--symbol", "BTCUSDT"], /^Cannot use --symbol without --replay/],
  [["--replay", "data/x.csv"], /^Missing --symbol for --replay "data\/x.csv"/],
  [["--replay", "data/x.csv", "--symbol", "BTCUSDT", "--rate", "5"], /^Cannot use --rate with --replay/],
  [["--replay", "data/x.csv", "--symbol", "BTC,ETH"], /^Cannot use --symbol "BTC,ETH": expected one symbol/],
  [["--archive-from", "2024-08-01"], /^Cannot generate the archive: expected --archive-from D, --archive-to D and/],
  [
    ["--archive-from", "2024-08-32", "--archive-to", "2024-09-01", "--archive-trades-per-day", "5"],
    /^Cannot use --archive-from "2024-08-32": expected a day YYYY-MM-DD$/,
  ],
  [
    ["--archive-from", "2024-08-02", "--archive-to", "2024-08-01", "--archive-trades-per-day", "5"],
    /^Cannot use --archive-to "2024-08-01": expected a day on or after --archive-from \(2024-08-02\)$/,
  ],
  [
    ["--archive-from", "2024-08-01", "--archive-to", "2024-08-01", "--archive-trades-per-day", "0"],
    /^Cannot use --archive-trades-per-day "0": expected a whole number from 1 to 100000000$/,
  ],
  [["--archive-csv", "data/trades.csv"], /^Cannot use --archive-csv "data\/trades.csv": expected a file named/],
  [["--archive-fault", "explode:2024-08-01"], /^Cannot use --archive-fault "explode:2024-08-01": expected kind:DATE/],
  [["--archive-fault", "drop:tomorrow"], /^Cannot use --archive-fault "drop:tomorrow": expected kind:DATE/],
  [["--archive-time-unit", "ns"], /^Cannot use --archive-time-unit "ns": expected auto, ms or us$/],
  [["--archive-stall-ms", "0"], /^Cannot use --archive-stall-ms "0": expected a whole number from 1 to/],
  [["--prefill-minutes", "20000"], /^Cannot use --prefill-minutes "20000": expected a number from 0 to 10080$/],
  [
    ["--replay", "data/x.csv", "--symbol", "BTCUSDT", "--prefill-minutes", "5"],
    /^Cannot use --prefill-minutes with --replay/,
  ],
];

for (const [args, message] of refusals) {
  Deno.test(`parseExchangeArgs() refuses ${args.join(" ")} with a one-line UsageError`, () => {
    assert.throws(() => parseExchangeArgs(args), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  });
}

Deno.test("resolveExchangeOptions() fills what the library caller left out", () => {
  const options = resolveExchangeOptions({ rate: 5, maxTrades: undefined });
  assert.equal(options.rate, 5);
  assert.equal(options.port, 9443);
  assert.equal(options.progressSeconds, 0);
});

Deno.test("parseExchangeArgs() takes the market from --market, else MARKET, else spot", () => {
  const market = (args: string[], env = {}) => {
    const result = parseExchangeArgs(args, env);
    return result.help ? undefined : [result.options.market, result.options.nonMarketRate];
  };
  assert.deepEqual(market([]), ["spot", 0.002]);
  assert.deepEqual(market([], { MARKET: "usdm" }), ["usdm", 0.002]);
  assert.deepEqual(market(["--market", "spot"], { MARKET: "usdm" }), ["spot", 0.002]);
  assert.deepEqual(market(["--market=usdm", "--non-market-rate", "0.05"]), ["usdm", 0.05]);
  assert.deepEqual(market([], { MARKET: "" }), ["spot", 0.002]);
  assert.match(USAGE, /--market spot\|usdm/);
  assert.match(USAGE, /--non-market-rate/);
});

Deno.test("parseExchangeArgs() refuses a bad market, a non-market rate on spot and a replay on usdm", () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--market", "coinm"], {}, /--market "coinm": expected spot or usdm/],
    [[], { MARKET: "futures" }, /MARKET "futures": expected spot or usdm/],
    [["--non-market-rate", "0.1"], {}, /--non-market-rate on spot/],
    [["--market", "usdm", "--non-market-rate", "2"], {}, /--non-market-rate "2": expected a number from 0 to 1/],
    [["--replay", "data/x.csv", "--symbol", "BTCUSDT"], { MARKET: "usdm" }, /Cannot replay "data\/x.csv" on usdm/],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(
      () => parseExchangeArgs(args, env),
      (error: Error) => error instanceof UsageError && message.test(error.message),
      args.join(" "),
    );
  }
});
