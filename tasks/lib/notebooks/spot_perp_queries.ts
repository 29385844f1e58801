/**
 * What the notebook's spot–perp section shows, for a pair captured on both markets: the perpetual's premium over
 * spot per minute (close vs close, VWAP vs VWAP) in basis points, taker buy share on each market, and the futures
 * trades that were not order-book trades (insurance fund, ADL), which Binance's klines leave out. The premium is
 * computed on the marts' exact DECIMALs and only then becomes a number for plotting.
 */
import { epochMs, type Marts, type NoData, withMarts } from "./database.ts";
import type { NotebookParams } from "./params.ts";
import {
  inWindow,
  lastRefresh,
  msDate,
  notebookWindow,
  num,
  type RefreshInfo,
  type Row,
  type Window,
  windowValues,
} from "./queries.ts";

/** One minute where both markets traded. */
export interface PremiumMinute {
  minuteAt: Date;
  spotClose: number;
  perpClose: number;
  /** (perp − spot) / spot × 10,000, on closes. */
  closeBps: number;
  /** The same on the minutes' VWAPs. */
  vwapBps: number;
}

/** Share of one market's base volume bought by takers in one minute. */
export interface TakerShareMinute {
  minuteAt: Date;
  market: "spot" | "usdm";
  takerBuyShare: number;
}

/** A futures trade that did not come from the order book. */
export interface NonMarketTrade {
  tradeAt: Date;
  tradeType: string;
  price: number;
  quantity: number;
}

/** Everything the section draws. */
export interface SpotPerpData {
  pair: string;
  window: Window;
  refresh: RefreshInfo | undefined;
  premium: PremiumMinute[];
  takerShare: TakerShareMinute[];
  nonMarket: NonMarketTrade[];
}

/**
 * Reads the section's data for `params.pair` (or the busiest pair traded on both markets), or {@link NoData} saying,
 * in one line, why there is nothing to compare (only one market captured, or no pair on both).
 */
export function loadSpotPerp(params: NotebookParams): Promise<SpotPerpData | NoData> {
  return withMarts(params.duckdbPath, async (marts) => {
    const window = await notebookWindow(marts, params);
    const picked = await pickPairOnBothMarkets(marts, window, params.pair);
    if (typeof picked !== "string") return picked;
    const values = { pair: picked, ...windowValues(window) };
    return {
      pair: picked,
      window,
      refresh: await lastRefresh(marts),
      premium: (await marts.rows<Row>(PREMIUM_SQL, values)).map((row) => ({
        minuteAt: msDate(row.minute_ms),
        spotClose: num(row.spot_close),
        perpClose: num(row.perp_close),
        closeBps: num(row.close_bps),
        vwapBps: num(row.vwap_bps),
      })),
      takerShare: (await marts.rows<Row>(TAKER_SHARE_SQL, values)).map((row) => ({
        minuteAt: msDate(row.minute_ms),
        market: row.market === "usdm" ? "usdm" : "spot",
        takerBuyShare: num(row.taker_buy_share),
      })),
      nonMarket: (await marts.rows<Row>(NON_MARKET_SQL, values)).map((row) => ({
        tradeAt: msDate(row.trade_ms),
        tradeType: String(row.trade_type),
        price: num(row.price),
        quantity: num(row.quantity),
      })),
    };
  });
}

/** `wanted` when both markets traded it in the window, else the busiest such pair; {@link NoData} when none. */
async function pickPairOnBothMarkets(
  marts: Marts,
  window: Window,
  wanted: string | undefined,
): Promise<string | NoData> {
  const markets = (await marts.rows<{ market: string }>(
    `select distinct market from marts.fct_candles_1m where ${inWindow("minute_at")} order by market`,
    windowValues(window),
  )).map((row) => row.market);
  if (markets.length < 2) {
    return section(
      `Only one market (${markets.join("") || "none"}) was captured in the window: run spot and usdm ` +
        "(MARKETS=spot,usdm) to compare a pair's perpetual with its spot market.",
    );
  }
  const pairs = (await marts.rows<{ pair: string }>(
    `select pair from marts.fct_candles_1m where ${inWindow("minute_at")}
     group by pair having count(distinct market) = 2 order by sum(quote_volume) desc, pair`,
    windowValues(window),
  )).map((row) => row.pair);
  if (pairs.length === 0) return section("No pair traded on both spot and usdm in the window.");
  if (wanted === undefined) return pairs[0]!;
  if (pairs.includes(wanted)) return wanted;
  return section(
    `**\`${wanted}\` did not trade on both markets in the window** (NOTEBOOK_PAIR). Pairs on both: ` +
      `${pairs.map((pair) => `\`${pair}\``).join(", ")}.`,
  );
}

/** Why the section has nothing to compare, when the marts do hold trades (so not the notebook's "no data yet"). */
function section(message: string): NoData {
  return { kind: "no-data", message };
}

// Only minutes where both markets traded: a premium against a missing minute would be made up.
const PREMIUM_SQL = `
  with spot as (
    select minute_at, close, vwap from marts.fct_candles_1m
    where market = 'spot' and pair = $pair and ${inWindow("minute_at")}
  ),
  perp as (
    select minute_at, close, vwap from marts.fct_candles_1m
    where market = 'usdm' and pair = $pair and ${inWindow("minute_at")}
  )
  select ${epochMs("spot.minute_at")} as minute_ms, spot.close::double as spot_close, perp.close::double as perp_close,
    ((perp.close - spot.close) / spot.close * 10000)::double as close_bps,
    ((perp.vwap - spot.vwap) / spot.vwap * 10000)::double as vwap_bps
  from spot
  inner join perp on perp.minute_at = spot.minute_at
  order by spot.minute_at`;

const TAKER_SHARE_SQL = `
  select ${epochMs("minute_at")} as minute_ms, market,
    (taker_buy_volume / nullif(volume, 0))::double as taker_buy_share
  from marts.fct_candles_1m
  where pair = $pair and ${inWindow("minute_at")} and volume > 0
  order by minute_at, market`;

const NON_MARKET_SQL = `
  select ${epochMs("trade_time")} as trade_ms, trade_type, price::double as price, quantity::double as quantity
  from staging.stg_trades
  where market = 'usdm' and pair = $pair and not is_market_trade and ${inWindow("trade_time")}
  order by trade_time`;
