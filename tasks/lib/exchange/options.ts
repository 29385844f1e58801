/**
 * The exchange's settings: the library's optional options with defaults, and the `deno task exchange` flags.
 *
 * Parsing is pure; a bad flag throws {@link UsageError} with one line naming the flag, its value and what is allowed.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../cli.ts";
import { type ArchiveFaults, parseArchiveFault } from "./archive_faults.ts";
import { type ArchiveTimeUnitSetting, isArchiveDay, parseArchiveCsvName } from "./archive_paths.ts";
import type { ArchiveGeneration } from "./archive_trades.ts";
import { type FaultRates, parseFaultRates } from "./faults.ts";
import { DEFAULT_NON_MARKET_RATE, DEFAULT_START_ID } from "./market.ts";
import { isMarket, type Market } from "../market.ts";

export type { ArchiveGeneration } from "./archive_trades.ts";

/** Extra trades at once, every so often. */
export interface BurstOptions {
  everySeconds: number;
  size: number;
}

/** Streams a Binance public-data trades CSV instead of generating trades. */
export interface ReplayOptions {
  path: string;
  symbol: string;
  /** 1 = real time, 10 = ten times faster, 0 = as fast as clients take them. */
  speed: number;
}

/** How to run the exchange; every field is optional. */
export interface ExchangeOptions {
  /**
   * `usdm`: the USDⓈ-M futures protocol (streams at `/public/stream`, `/fapi/v1/…` REST, the `futures/um` archive,
   * futures precision, trades with `X`). @default "spot"
   */
  market?: Market;
  /**
   * USDⓈ-M only: the share of trades that are INSURANCE_FUND, ADL or NA (the stream shows them; REST and the archive
   * do not list them). @default 0.002
   */
  nonMarketRate?: number;
  /** Loopback port; 0 picks a free one. @default 9443 */
  port?: number;
  /** @default ["BTCUSDT", "ETHUSDT", "SOLUSDT"] */
  symbols?: string[];
  /** Seeds the market and every connection's faults. @default 1 */
  seed?: number;
  /** Trades per second over all symbols. @default 50 */
  rate?: number;
  /** @default undefined (no bursts) */
  burst?: BurstOptions | undefined;
  /** Trades kept per symbol for REST; the oldest are dropped. @default 1_000_000 */
  history?: number;
  /** First trade id of every symbol. @default 1_000_000 */
  startId?: number;
  /** Stop generating after this many trades in total. @default undefined (never) */
  maxTrades?: number | undefined;
  /** Finish (resolve `done`) once the last trade is generated and sent. @default false */
  exitAfterMax?: boolean;
  /** Finish after this many seconds. @default undefined (never) */
  durationSeconds?: number | undefined;
  /** Keep-alive ping period; a client silent for twice this is dropped. 0 disables it. @default 20 */
  pingIntervalSeconds?: number;
  /** Connections are cut at this age. @default 86400 */
  maxAgeSeconds?: number;
  /** How long before the cut the serverShutdown notice goes out. @default 1 */
  shutdownNoticeSeconds?: number;
  /** @default {} (no faults) */
  faults?: FaultRates;
  /** How long a `stall` fault silences a connection. @default 5000 */
  stallMs?: number;
  /** REST request weight per minute. @default 6000 */
  weightLimit?: number;
  /** @default undefined (generate trades) */
  replay?: ReplayOptions | undefined;
  /** Seconds between progress lines; 0 for none. @default 0 */
  progressSeconds?: number;
  /** Start generating (or replaying) only when the first stream client connects, so it sees every trade. @default false */
  waitForClient?: boolean;
  /**
   * Generate the archive's daily files of every served symbol from `from` to `to`, and the monthly files of the
   * months wholly inside. @default undefined (no generated days)
   */
  archive?: ArchiveGeneration | undefined;
  /** Unit of archive CSV times: `auto` is milliseconds before 2025-01-01 and microseconds after. @default "auto" */
  archiveTimeUnit?: ArchiveTimeUnitSetting;
  /** Futures-style archive CSVs: a header line, six columns, `true`/`false`. @default false (spot) */
  archiveHeader?: boolean;
  /** Where zips are built and kept (generated ones reused across runs). @default undefined (`data/exchange-archive`) */
  archiveCacheDir?: string | undefined;
  /** Binance trade CSVs named `<SYMBOL>-trades-<YYYY-MM-DD>.csv`, each served byte for byte as that day's zip. @default [] */
  archiveCsv?: string[];
  /** Archive faults by file date (`YYYY-MM-DD`, `YYYY-MM` or `*`); see archive_faults.ts. @default {} */
  archiveFaults?: ArchiveFaults;
  /** How long a `slow` archive download stalls before the server gives up on it. @default 600000 */
  archiveStallMs?: number;
  /**
   * At start, generate the trades of this many minutes before now at `rate` (REST serves them, the archive serves
   * them as the daily files of their days, the live stream goes on with the next ids). Not with `replay`. @default 0
   */
  prefillMinutes?: number;
}

/** The options that stay `undefined` when not given. */
type Unset = "burst" | "maxTrades" | "durationSeconds" | "replay" | "archive" | "archiveCacheDir";

/** Every option with its value decided. */
export type ResolvedExchangeOptions =
  & Required<Omit<ExchangeOptions, Unset>>
  & { [K in Unset]: ExchangeOptions[K] | undefined };

/** The defaults of {@link ExchangeOptions}. */
export const EXCHANGE_DEFAULTS: ResolvedExchangeOptions = {
  market: "spot",
  nonMarketRate: DEFAULT_NON_MARKET_RATE,
  port: 9443,
  symbols: ["BTCUSDT", "ETHUSDT", "SOLUSDT"],
  seed: 1,
  rate: 50,
  burst: undefined,
  history: 1_000_000,
  startId: DEFAULT_START_ID,
  maxTrades: undefined,
  exitAfterMax: false,
  durationSeconds: undefined,
  pingIntervalSeconds: 20,
  maxAgeSeconds: 86_400,
  shutdownNoticeSeconds: 1,
  faults: {},
  stallMs: 5000,
  weightLimit: 6000,
  replay: undefined,
  progressSeconds: 0,
  waitForClient: false,
  archive: undefined,
  archiveTimeUnit: "auto",
  archiveHeader: false,
  archiveCacheDir: undefined,
  archiveCsv: [],
  archiveFaults: {},
  archiveStallMs: 600_000,
  prefillMinutes: 0,
};

/** Fills in the defaults; in replay mode the symbol list is the replayed symbol. */
export function resolveExchangeOptions(options: ExchangeOptions = {}): ResolvedExchangeOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const resolved = { ...EXCHANGE_DEFAULTS, ...defined } as ResolvedExchangeOptions;
  if (resolved.replay) resolved.symbols = [resolved.replay.symbol];
  return resolved;
}

export const USAGE = "usage: deno task exchange [--market spot|usdm (default: env MARKET, else spot)] " +
  "[--non-market-rate 0.002 (usdm only: share of INSURANCE_FUND, ADL and NA trades)] " +
  "[--port 9443] [--symbols BTCUSDT,ETHUSDT] [--seed 1] [--rate 50] " +
  "[--burst-every S --burst-size N] [--history N] [--start-id N] [--max-trades N [--exit-after-max]] " +
  "[--duration S] [--ping-interval S] [--max-age S] [--shutdown-notice S] [--faults kind=rate,…] [--stall-ms MS] " +
  "[--weight-limit N] [--progress-interval S] [--wait-for-client] [--prefill-minutes N] " +
  "| --replay data/file.csv --symbol BTCUSDT [--speed 1]; archive (either mode): " +
  "[--archive-from YYYY-MM-DD --archive-to YYYY-MM-DD --archive-trades-per-day N] [--archive-csv data/S-trades-D.csv,…] " +
  "[--archive-fault kind:DATE …] [--archive-time-unit auto|ms|us] [--archive-header] [--archive-cache DIR] " +
  "[--archive-stall-ms MS]. usdm serves /public/stream?streams=…, /fapi/v1/{trades,historicalTrades,aggTrades," +
  "klines} and /data/futures/um/… (header, ms, MARKET trades only)";

/** What the command line asked for. */
export type ExchangeArgs = { help: true } | { help: false; options: ResolvedExchangeOptions };

const FLAGS = {
  market: { type: "string" },
  "non-market-rate": { type: "string" },
  port: { type: "string" },
  symbols: { type: "string" },
  seed: { type: "string" },
  rate: { type: "string" },
  "burst-every": { type: "string" },
  "burst-size": { type: "string" },
  history: { type: "string" },
  "start-id": { type: "string" },
  "max-trades": { type: "string" },
  "exit-after-max": { type: "boolean" },
  duration: { type: "string" },
  "ping-interval": { type: "string" },
  "max-age": { type: "string" },
  "shutdown-notice": { type: "string" },
  faults: { type: "string" },
  "stall-ms": { type: "string" },
  "weight-limit": { type: "string" },
  "progress-interval": { type: "string" },
  "wait-for-client": { type: "boolean" },
  replay: { type: "string" },
  symbol: { type: "string" },
  speed: { type: "string" },
  "prefill-minutes": { type: "string" },
  "archive-from": { type: "string" },
  "archive-to": { type: "string" },
  "archive-trades-per-day": { type: "string" },
  "archive-csv": { type: "string", multiple: true },
  "archive-fault": { type: "string", multiple: true },
  "archive-time-unit": { type: "string" },
  "archive-header": { type: "boolean" },
  "archive-cache": { type: "string" },
  "archive-stall-ms": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Only generated markets take these; a replay streams the file's own trades. */
const GENERATOR_FLAGS = [
  "symbols",
  "rate",
  "burst-every",
  "burst-size",
  "start-id",
  "seed",
  "prefill-minutes",
  "non-market-rate",
] as const;

/** The environment the task reads: `MARKET` picks the market when `--market` is not given. */
export interface ExchangeEnv {
  MARKET?: string | undefined;
}

/**
 * Parses `deno task exchange` flags into resolved options (progress every 5 s unless told otherwise).
 *
 * @throws {UsageError} On an unknown flag, a bad value or flags that do not go together.
 */
export function parseExchangeArgs(args: string[], env: ExchangeEnv = {}): ExchangeArgs {
  let values: Partial<Record<keyof typeof FLAGS, string | boolean | string[]>>;
  try {
    ({ values } = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    const reason = (error as Error).message.split(". ")[0]!.replace(/\.$/, "");
    throw new UsageError(`${reason}: run deno task exchange --help for the flags`);
  }
  if (values.help) return { help: true };
  const text = (name: keyof typeof FLAGS) => values[name] as string | undefined;
  const number = (name: keyof typeof FLAGS, min: number, max: number, whole = false) => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    const value = /^\d*\.?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= min && value <= max) || (whole && !Number.isSafeInteger(value))) {
      const kind = whole ? "a whole number" : "a number";
      throw new UsageError(`Cannot use --${name} "${raw}": expected ${kind} from ${min} to ${max}`);
    }
    return value;
  };

  const replayPath = text("replay");
  if (replayPath === undefined) {
    for (const name of ["symbol", "speed"] as const) {
      if (values[name] !== undefined) throw new UsageError(`Cannot use --${name} without --replay: ${USAGE}`);
    }
  } else {
    for (const name of GENERATOR_FLAGS) {
      if (values[name] !== undefined) {
        throw new UsageError(`Cannot use --${name} with --replay: a replay streams the file's own trades`);
      }
    }
    if (values.symbol === undefined) throw new UsageError(`Missing --symbol for --replay "${replayPath}": ${USAGE}`);
  }

  const burstEvery = number("burst-every", 0.001, 86_400);
  const burstSize = number("burst-size", 1, 1_000_000, true);
  if ((burstEvery === undefined) !== (burstSize === undefined)) {
    throw new UsageError("Cannot burst: expected both --burst-every S and --burst-size N");
  }
  const maxTrades = number("max-trades", 1, Number.MAX_SAFE_INTEGER, true);
  if (values["exit-after-max"] && maxTrades === undefined && replayPath === undefined) {
    throw new UsageError("Cannot use --exit-after-max without --max-trades N (or --replay)");
  }
  const maxAgeSeconds = number("max-age", 0.001, 86_400 * 7) ?? EXCHANGE_DEFAULTS.maxAgeSeconds;
  const shutdownNoticeSeconds = number("shutdown-notice", 0, 3600) ?? EXCHANGE_DEFAULTS.shutdownNoticeSeconds;
  if (shutdownNoticeSeconds >= maxAgeSeconds) {
    throw new UsageError(
      `Cannot use --shutdown-notice "${shutdownNoticeSeconds}": expected less than --max-age (${maxAgeSeconds})`,
    );
  }

  const market = parseMarket(text("market"), env.MARKET);
  const nonMarketRate = number("non-market-rate", 0, 1);
  if (nonMarketRate !== undefined && market !== "usdm") {
    throw new UsageError("Cannot use --non-market-rate on spot: only USDⓈ-M futures has non-market trades");
  }
  if (market === "usdm" && replayPath !== undefined) {
    throw new UsageError(`Cannot replay "${replayPath}" on usdm: replays are spot archive CSVs`);
  }

  const options: ExchangeOptions = {
    market,
    nonMarketRate,
    port: number("port", 0, 65_535, true),
    symbols: parseSymbolList(text("symbols")),
    seed: number("seed", 0, 4_294_967_295, true),
    rate: number("rate", 0, 1_000_000),
    burst: burstEvery === undefined ? undefined : { everySeconds: burstEvery, size: burstSize! },
    history: number("history", 1, 100_000_000, true),
    startId: number("start-id", 0, Number.MAX_SAFE_INTEGER, true),
    maxTrades,
    exitAfterMax: values["exit-after-max"] === true,
    durationSeconds: number("duration", 0.001, 86_400 * 365),
    pingIntervalSeconds: number("ping-interval", 0, 3600),
    maxAgeSeconds,
    shutdownNoticeSeconds,
    faults: parseFaults(text("faults")),
    stallMs: number("stall-ms", 1, 3_600_000, true),
    weightLimit: number("weight-limit", 1, 1_000_000, true),
    progressSeconds: number("progress-interval", 0, 3600) ?? 5,
    waitForClient: values["wait-for-client"] === true,
    prefillMinutes: number("prefill-minutes", 0, 10_080),
    archive: parseArchiveGeneration(
      text("archive-from"),
      text("archive-to"),
      number("archive-trades-per-day", 1, 100_000_000, true),
    ),
    archiveTimeUnit: parseTimeUnit(text("archive-time-unit")),
    archiveHeader: values["archive-header"] === true,
    archiveCacheDir: text("archive-cache"),
    archiveCsv: parseArchiveCsvs(values["archive-csv"] as string[] | undefined),
    archiveFaults: parseArchiveFaults(values["archive-fault"] as string[] | undefined),
    archiveStallMs: number("archive-stall-ms", 1, 86_400_000, true),
    replay: replayPath === undefined ? undefined : {
      path: replayPath,
      symbol: parseSymbolList(text("symbol"), "symbol")![0]!,
      speed: number("speed", 0, 1_000_000) ?? 1,
    },
  };
  return { help: false, options: resolveExchangeOptions(options) };
}

function parseSymbolList(raw: string | undefined, flag = "symbols"): string[] | undefined {
  if (raw === undefined) return undefined;
  const symbols = [...new Set(raw.split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== ""))];
  const most = flag === "symbol" ? 1 : 1024;
  if (symbols.length === 0 || symbols.length > most || !symbols.every((s) => /^[A-Z0-9]{2,20}$/.test(s))) {
    const expected = flag === "symbol" ? "one symbol" : "1 to 1024 comma-separated symbols";
    throw new UsageError(`Cannot use --${flag} "${raw}": expected ${expected} of 2-20 letters or digits, e.g. BTCUSDT`);
  }
  return symbols;
}

function parseFaults(raw: string | undefined): FaultRates | undefined {
  if (raw === undefined) return undefined;
  try {
    return parseFaultRates(raw);
  } catch (error) {
    // "Cannot parse fault "x=2": …" becomes "Cannot use --faults "x=2": …", naming the flag the user typed.
    throw new UsageError((error as Error).message.replace(/^Cannot parse fault/, "Cannot use --faults"));
  }
}

function parseArchiveGeneration(
  from: string | undefined,
  to: string | undefined,
  tradesPerDay: number | undefined,
): ArchiveGeneration | undefined {
  if (from === undefined && to === undefined && tradesPerDay === undefined) return undefined;
  if (from === undefined || to === undefined || tradesPerDay === undefined) {
    throw new UsageError(
      "Cannot generate the archive: expected --archive-from D, --archive-to D and --archive-trades-per-day N together",
    );
  }
  for (const [flag, day] of [["archive-from", from], ["archive-to", to]] as const) {
    if (!isArchiveDay(day)) throw new UsageError(`Cannot use --${flag} "${day}": expected a day YYYY-MM-DD`);
  }
  if (to < from) {
    throw new UsageError(`Cannot use --archive-to "${to}": expected a day on or after --archive-from (${from})`);
  }
  return { from, to, tradesPerDay };
}

/** `--market` wins over MARKET; neither means spot. */
function parseMarket(flag: string | undefined, env: string | undefined): Market {
  if (flag !== undefined) {
    if (!isMarket(flag)) throw new UsageError(`Cannot use --market "${flag}": expected spot or usdm`);
    return flag;
  }
  const value = env?.trim() ?? "";
  if (value === "") return "spot";
  if (!isMarket(value)) throw new UsageError(`Cannot use MARKET "${value}": expected spot or usdm (USDⓈ-M futures)`);
  return value;
}

function parseTimeUnit(raw: string | undefined): ArchiveTimeUnitSetting | undefined {
  if (raw === undefined) return undefined;
  if (raw === "auto" || raw === "ms" || raw === "us") return raw;
  throw new UsageError(`Cannot use --archive-time-unit "${raw}": expected auto, ms or us`);
}

/** `--archive-csv` may repeat, and each may list several comma-separated paths. */
function parseArchiveCsvs(raw: string[] | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const paths = raw.flatMap((item) => item.split(",")).map((path) => path.trim()).filter((path) => path !== "");
  for (const path of paths) {
    if (parseArchiveCsvName(path.split("/").at(-1)!) === undefined) {
      throw new UsageError(
        `Cannot use --archive-csv "${path}": expected a file named <SYMBOL>-trades-<YYYY-MM-DD>.csv`,
      );
    }
  }
  return paths;
}

function parseArchiveFaults(raw: string[] | undefined): ArchiveFaults | undefined {
  if (raw === undefined) return undefined;
  const faults: ArchiveFaults = {};
  for (const item of raw.flatMap((text) => text.split(","))) {
    try {
      const [date, kind] = parseArchiveFault(item.trim());
      faults[date] = kind;
    } catch (error) {
      throw new UsageError(
        (error as Error).message.replace(/^Cannot parse archive fault/, "Cannot use --archive-fault"),
      );
    }
  }
  return faults;
}
