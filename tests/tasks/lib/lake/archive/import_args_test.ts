import assert from "node:assert/strict";
import { parseImportArgs } from "../../../../../tasks/lib/lake/archive/import_args.ts";

const env = new Map<string, string>();
const TODAY = "2024-08-20";

Deno.test("parseImportArgs() turns --from/--to into the days asked for, --to defaulting to today", () => {
  const args = parseImportArgs(["--symbols", "btcusdt,ETHUSDT", "--from", "2024-08-18"], env, TODAY);
  assert.deepEqual(args.symbols, ["BTCUSDT", "ETHUSDT"]);
  assert.deepEqual(args.days, ["2024-08-18", "2024-08-19", "2024-08-20"]);
  assert.equal(args.baseUrl.href, "https://data.binance.vision/");
  assert.equal(args.lakeDir, "data/parquet");
  assert.equal(args.stallTimeoutMs, 30_000);
});

Deno.test("parseImportArgs() with --fill-gaps takes --from/--to as optional bounds", () => {
  const args = parseImportArgs(["--symbols", "BTCUSDT", "--fill-gaps"], env, TODAY);
  assert.deepEqual([args.fillGaps, args.days, args.gapBounds], [true, [], {}]);
  const bounded = parseImportArgs(["--symbols", "BTCUSDT", "--fill-gaps", "--from", "2024-08-01"], env, TODAY);
  assert.deepEqual(bounded.gapBounds, { from: "2024-08-01" });
});

Deno.test("parseImportArgs() refuses bad input in one line naming the flag", () => {
  const refuse = (args: string[], expected: RegExp, environment = env) =>
    assert.throws(() => parseImportArgs(args, environment, TODAY), expected);
  refuse(["--from", "2024-08-01"], /Missing --symbols/);
  refuse(["--symbols", "BTCUSDT"], /Missing --from/);
  refuse(["--symbols", "../../x", "--from", "2024-08-01"], /Cannot use --symbols "..\/..\/x"/);
  refuse(["--symbols", "BTCUSDT", "--from", "2024-02-30"], /Cannot use --from "2024-02-30": expected a day/);
  refuse(["--symbols", "BTCUSDT", "--from", "2024-08-09", "--to", "2024-08-01"], /--to is before --from/);
  refuse(["--symbols", "BTCUSDT", "--from", "2024-09-01"], /after today/);
  refuse(["--symbols", "BTCUSDT", "--from", "1990-01-01"], /at most 3660/);
  refuse(
    ["--symbols", "BTCUSDT", "--from", "2024-08-01"],
    /BINANCE_DATA_URL="ftp:\/\/x" is invalid/,
    new Map([
      ["BINANCE_DATA_URL", "ftp://x"],
    ]),
  );
});

Deno.test("parseImportArgs() takes the market from --market, else MARKET, else spot", () => {
  const base = ["--symbols", "BTCUSDT", "--from", "2024-08-18"];
  assert.equal(parseImportArgs(base, env, TODAY).market, "spot");
  assert.equal(parseImportArgs(base, new Map([["MARKET", "usdm"]]), TODAY).market, "usdm");
  assert.equal(parseImportArgs([...base, "--market", "spot"], new Map([["MARKET", "usdm"]]), TODAY).market, "spot");
  assert.equal(parseImportArgs([...base, "--market", "USDM"], env, TODAY).market, "usdm");
  assert.throws(() => parseImportArgs([...base, "--market", "coinm"], env, TODAY), /Cannot use --market "coinm"/);
});
