/**
 * Which days to import to heal the trade-id gaps the lake has: every id missing between two trades of a pair that the
 * lake holds (open gaps the producer is still healing, and those it abandoned because REST no longer serves them),
 * read from the lake itself so that no refresh has to run first.
 *
 * One rule for every market: missing ids between trades x < y are no gap when y carries `source_prev_trade_id <= x`
 * (the source that listed y listed nothing between them: on futures, the non-market trades REST and the archive
 * leave out).
 */
import { join } from "node:path";
import { type DuckDB, sqlStringList } from "../../duckdb.ts";
import { daysBetween } from "./archive_files.ts";

/** One range of missing trade ids, and the days from the trade before it to the trade after it. */
export interface LakeGap {
  pair: string;
  fromTradeId: number;
  toTradeId: number;
  fromDay: string;
  toDay: string;
}

/** The gaps of `pairs` in the lake at `lakeDir` (whose `pair=` folders exist), by pair and id. */
export async function lakeGaps(duckdb: DuckDB, lakeDir: string, pairs: readonly string[]): Promise<LakeGap[]> {
  const globs: string[] = [];
  for (const pair of pairs) {
    try {
      await Deno.stat(join(lakeDir, `pair=${pair}`));
      globs.push(join(lakeDir, `pair=${pair}`, "trade_date=*", "hour=*", "*.parquet"));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  if (globs.length === 0) return [];
  const read = `read_parquet(${sqlStringList(globs)}, hive_partitioning = true, union_by_name = true,
    hive_types = {'pair': varchar, 'trade_date': date, 'hour': integer})`;
  // A lake written before the column existed has none to read.
  const columns = (await duckdb.connection.runAndReadAll(`describe select * from ${read}`)).getRows();
  const sourcePrev = columns.some(([name]) => name === "source_prev_trade_id")
    ? "source_prev_trade_id"
    : "null::bigint";
  const sql = `
with trades as (
  select pair, trade_id, trade_time, ${sourcePrev} as source_prev_trade_id
  from ${read}
),
next_trades as (
  select
    pair,
    trade_id,
    trade_time,
    lead(trade_id) over by_id as next_trade_id,
    lead(trade_time) over by_id as next_trade_time,
    lead(source_prev_trade_id) over by_id as next_source_prev_trade_id
  from trades
  -- Of a trade's copies (live and archive), the one its source vouched for first.
  window by_id as (partition by pair order by trade_id, source_prev_trade_id asc nulls last)
)
select
  pair,
  trade_id + 1 as from_trade_id,
  next_trade_id - 1 as to_trade_id,
  strftime(trade_time, '%Y-%m-%d') as from_day,
  strftime(next_trade_time, '%Y-%m-%d') as to_day
from next_trades
where next_trade_id - trade_id > 1 and not coalesce(next_source_prev_trade_id <= trade_id, false)
order by pair, from_trade_id`;
  const rows = (await duckdb.connection.runAndReadAll(sql)).getRows();
  return rows.map(([pair, from, to, fromDay, toDay]) => ({
    pair: String(pair),
    fromTradeId: Number(from),
    toTradeId: Number(to),
    fromDay: String(fromDay),
    toDay: String(toDay),
  }));
}

/** The days that cover `gaps`, per pair, sorted, limited to [`from`, `to`] when given. Pure. */
export function gapDays(gaps: readonly LakeGap[], from?: string, to?: string): Map<string, string[]> {
  const days = new Map<string, Set<string>>();
  for (const gap of gaps) {
    const set = days.get(gap.pair) ?? new Set<string>();
    for (const day of daysBetween(gap.fromDay, gap.toDay)) {
      if ((from === undefined || day >= from) && (to === undefined || day <= to)) set.add(day);
    }
    days.set(gap.pair, set);
  }
  return new Map([...days].map(([pair, set]) => [pair, [...set].sort()]));
}
