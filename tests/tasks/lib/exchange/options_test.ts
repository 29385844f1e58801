import assert from "node:assert/strict";
import { UsageError } from "../../../../tasks/lib/cli.ts";
import {
  EXCHANGE_DEFAULTS,
  parseExchangeArgs,
  type ResolvedExchangeOptions,
  resolveExchangeOptions,
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
  });
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
