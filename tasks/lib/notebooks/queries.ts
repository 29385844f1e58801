/**
 * What the market notebook shows, read from the marts for one pair and the notebooks' window (notebookWindow). DECIMAL columns become JavaScript numbers here, for plotting only; the marts keep them exact.
 */
import { epochMs, type Marts, type NoData, noData, withMarts } from "./database.ts";
import type { Market } from "../market.ts";
import type { NotebookParams } from "./params.ts";
import { readScorecard, type Scorecard, type ScoreRow } from "../warehouse/scorecard.ts";

export { isNoData, type NoData } from "./database.ts";

/** A window of time, [start, end). */
export interface Window {
  start: Date;
  end: Date;
}

/** One 1-minute candle. */
export interface Candle {
  minuteAt: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  vwap: number;
  volume: number;
  tradeCount: number;
}

/** Taker flow of one minute. */
export interface FlowMinute {
  minuteAt: Date;
  buyVolume: number;
  sellVolume: number;
  /** (buy − sell) / (buy + sell), −1…1; null without volume. */
  imbalance: number | null;
  /** Running Σ (buy − sell) over the UTC day. */
  cumulativeDelta: number;
}

/** Trades whose quantity falls in [low, high), by taker side: a bucket of a quarter decade. */
export interface TradeSizeBucket {
  side: "buy" | "sell";
  low: number;
  high: number;
  trades: number;
}

/** One pair over the window. */
export interface PairSummary {
  pair: string;
  trades: number;
  volume: number;
  quoteVolume: number;
  open: number;
  close: number;
  high: number;
  low: number;
  vwap: number;
  /** Share of the base volume bought by takers, 0-1. */
  takerBuyShare: number;
  lastMinuteAt: Date;
}

/** When the marts were last refreshed, from meta.refresh_runs. */
export interface RefreshInfo {
  /** The refresh's now (its view of the present). */
  nowAt: Date;
  finishedAt: Date;
  testsFailed: number;
}

/** Everything 01_market.ipynb draws. */
export interface MarketData {
  pair: string;
  window: Window;
  refresh: RefreshInfo | undefined;
  candles: Candle[];
  flow: FlowMinute[];
  tradeSizes: TradeSizeBucket[];
  summary: PairSummary[];
  /** Every pair's headline figures over the window (the same as the health notebook's and the demo's). */
  scorecard: Scorecard;
}

/** The scorecard of `window`, read from `marts`. */
export function windowScorecard(marts: Marts, window: Window): Promise<Scorecard> {
  return readScorecard(
    (sql, values) => marts.rows<ScoreRow>(sql, values),
    { startMs: window.start.getTime(), endMs: window.end.getTime() },
  );
}

/** Reads the market notebook's data, or {@link NoData} when there is nothing (yet) to show. */
export function loadMarket(params: NotebookParams): Promise<MarketData | NoData> {
  return withMarts(params.duckdbPath, async (marts) => {
    const window = await notebookWindow(marts, params);
    const market = params.market ?? await busiestMarket(marts, window);
    const picked = await pickPair(marts, window, params.pair, market);
    if (typeof picked !== "string") return picked;
    const values = { pair: picked, market, ...windowValues(window) };
    return {
      pair: pairLabel(picked, market),
      window,
      refresh: await lastRefresh(marts),
      candles: (await marts.rows<Row>(CANDLES_SQL, values)).map((row) => ({
        minuteAt: msDate(row.minute_ms),
        open: num(row.open),
        high: num(row.high),
        low: num(row.low),
        close: num(row.close),
        vwap: num(row.vwap),
        volume: num(row.volume),
        tradeCount: num(row.trade_count),
      })),
      flow: (await marts.rows<Row>(FLOW_SQL, values)).map((row) => ({
        minuteAt: msDate(row.minute_ms),
        buyVolume: num(row.buy_volume),
        sellVolume: num(row.sell_volume),
        imbalance: row.imbalance === null ? null : num(row.imbalance),
        cumulativeDelta: num(row.cumulative_delta),
      })),
      tradeSizes: (await marts.rows<Row>(TRADE_SIZES_SQL, values)).map((row) => ({
        side: row.side === "sell" ? "sell" : "buy",
        low: 10 ** (num(row.bucket) / 4),
        high: 10 ** ((num(row.bucket) + 1) / 4),
        trades: num(row.trades),
      })),
      summary: (await marts.rows<Row>(SUMMARY_SQL, windowValues(window))).map((row) => ({
        pair: String(row.pair),
        trades: num(row.trades),
        volume: num(row.volume),
        quoteVolume: num(row.quote_volume),
        open: num(row.open),
        close: num(row.close),
        high: num(row.high),
        low: num(row.low),
        vwap: num(row.vwap),
        takerBuyShare: num(row.taker_buy_share),
        lastMinuteAt: msDate(row.last_minute_ms),
      })),
      scorecard: await windowScorecard(marts, window),
    };
  });
}

/**
 * The window every section of both notebooks shows: `params.windowMinutes` minutes ending at the marts' refresh time
 * while trades are recent (a stopped pipeline then shows as stale at the right edge), or where the latest minute of
 * trades ends once that is longer ago than the window (a lake of imported history shows its trades, not empty
 * minutes). Of NOTEBOOK_MARKET when it is set. The market and health sections always cover the same minutes.
 */
export async function notebookWindow(
  marts: Marts,
  params: Pick<NotebookParams, "windowMinutes" | "market">,
): Promise<Window> {
  const [row] = await marts.rows<{ end_ms: number | null }>(
    `select ${epochMs("max(minute_at) + interval 1 minute")} as end_ms from marts.fct_trades_1m
     where $market is null or market = $market`,
    { market: params.market ?? null },
  );
  const windowMs = params.windowMinutes * 60_000;
  const lastTradeEndMs = row?.end_ms ?? Date.now();
  const refreshedMs = (await lastRefresh(marts))?.nowAt.getTime();
  const live = refreshedMs !== undefined && refreshedMs >= lastTradeEndMs && refreshedMs - lastTradeEndMs < windowMs;
  const endMs = live ? Math.ceil(refreshedMs / 60_000) * 60_000 : lastTradeEndMs;
  return { start: new Date(endMs - windowMs), end: new Date(endMs) };
}

/** `$start_ms` and `$end_ms` for queries over `window`. */
export function windowValues(window: Window): { start_ms: number; end_ms: number } {
  return { start_ms: window.start.getTime(), end_ms: window.end.getTime() };
}

/** `column` within the window given as `$start_ms`/`$end_ms`. */
export function inWindow(column: string): string {
  return `${column} >= make_timestamp(($start_ms * 1000)::bigint) and ${column} < make_timestamp(($end_ms * 1000)::bigint)`;
}

/**
 * How a pair is named on a chart: as it is on spot, with its market otherwise (`BTCUSDT (usdm)`), since a
 * perpetual and its spot market are separate series. {@link PAIR_LABEL_SQL} is the same in SQL.
 */
export function pairLabel(pair: string, market: Market): string {
  return market === "spot" ? pair : `${pair} (${market})`;
}

/** {@link pairLabel} as a select item over `market` and `pair` columns, named `pair`. */
export const PAIR_LABEL_SQL = "case when market = 'spot' then pair else pair || ' (' || market || ')' end as pair";

/** Spot when it traded in the window, else the market that traded most (spot when none did). */
export async function busiestMarket(marts: Marts, window: Window): Promise<Market> {
  const [row] = await marts.rows<{ market: string }>(
    `select market from marts.fct_trades_1m where ${inWindow("minute_at")}
     group by market order by market = 'spot' desc, sum(trade_count) desc limit 1`,
    windowValues(window),
  );
  return row?.market === "usdm" ? "usdm" : "spot";
}

/**
 * `wanted` when it traded on `market` in the window, else that market's pair with the most trades; {@link NoData}
 * when none did.
 */
export async function pickPair(
  marts: Marts,
  window: Window,
  wanted: string | undefined,
  market: Market = "spot",
): Promise<string | NoData> {
  const pairs = (await marts.rows<{ pair: string }>(
    `select pair from marts.fct_trades_1m where market = $market and ${
      inWindow("minute_at")
    } group by pair order by sum(trade_count) desc, pair`,
    { market, ...windowValues(window) },
  )).map((row) => row.pair);
  if (wanted === undefined) {
    return pairs[0] ?? noData(`The marts hold no ${market} trades in the window (NOTEBOOK_MARKET=${market}).`);
  }
  if (pairs.includes(wanted)) return wanted;
  const others = pairs.length === 0 ? "none" : pairs.map((pair) => `\`${pair}\``).join(", ");
  return {
    kind: "no-data",
    message: `**No trades of \`${wanted}\` in the window** (NOTEBOOK_PAIR). Pairs that traded: ${others}.`,
  };
}

/** The latest refresh recorded in meta.refresh_runs, if the table exists. */
export async function lastRefresh(marts: Marts): Promise<RefreshInfo | undefined> {
  if (!(await marts.hasTable("meta", "refresh_runs"))) return undefined;
  const [row] = await marts.rows<Row>(
    `select ${epochMs("started_at")} as now_ms, ${epochMs("finished_at")} as finished_ms,
       tests_failed::double as tests_failed
     from meta.refresh_runs order by finished_at desc limit 1`,
  );
  if (row === undefined) return undefined;
  return {
    nowAt: new Date(Number(row.now_ms)),
    finishedAt: new Date(Number(row.finished_ms)),
    testsFailed: Number(row.tests_failed),
  };
}

/** A row of a query: numbers, strings and nulls. */
export type Row = Record<string, number | string | null>;

/** A numeric column's value as a number (0 for null). */
export function num(value: number | string | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** A column holding ms since the epoch as a Date. */
export function msDate(value: number | string | null | undefined): Date {
  return new Date(num(value));
}

const CANDLES_SQL = `
  select ${epochMs("minute_at")} as minute_ms, open::double as open, high::double as high, low::double as low,
    close::double as close, vwap::double as vwap, volume::double as volume, trade_count::double as trade_count
  from marts.fct_candles_1m
  where market = $market and pair = $pair and ${inWindow("minute_at")}
  order by minute_at`;

const FLOW_SQL = `
  select ${epochMs("minute_at")} as minute_ms, buy_volume::double as buy_volume, sell_volume::double as sell_volume,
    imbalance, cumulative_delta::double as cumulative_delta
  from marts.fct_orderflow_1m
  where market = $market and pair = $pair and ${inWindow("minute_at")}
  order by minute_at`;

// Quarter-decade buckets of log10(quantity): sizes span orders of magnitude, so equal-width bins would hide them.
const TRADE_SIZES_SQL = `
  select taker_side as side, floor(log10(quantity::double) * 4)::double as bucket, count(*)::double as trades
  from staging.stg_trades
  where market = $market and pair = $pair and quantity > 0 and ${inWindow("trade_time")}
  group by all
  order by bucket, side`;

// One row per market and pair: a perpetual and its spot market are different instruments.
const SUMMARY_SQL = `
  select ${PAIR_LABEL_SQL}, sum(trade_count)::double as trades, sum(volume)::double as volume,
    sum(quote_volume)::double as quote_volume, arg_min(open, minute_at)::double as open,
    arg_max(close, minute_at)::double as close, max(high)::double as high, min(low)::double as low,
    sum(quote_volume)::double / nullif(sum(volume)::double, 0) as vwap,
    sum(taker_buy_volume)::double / nullif(sum(volume)::double, 0) as taker_buy_share,
    ${epochMs("max(minute_at)")} as last_minute_ms
  from marts.fct_candles_1m
  where ${inWindow("minute_at")}
  group by market, pair
  order by quote_volume desc, pair`;
