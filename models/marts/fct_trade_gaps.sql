-- Trade-id ranges the live capture missed, per market and pair: open while the lake lacks them, healed once another
-- source (a REST backfill, an archive import) filled them. Built from the minute statistics, so that only the few
-- minutes with a hole inside, or with trades that did not come from the stream, are read trade by trade. Trade ids
-- follow trade time at the exchange, so ordering minutes by time orders their id ranges.
--
-- The one gap rule, for both markets: missing ids between present ids x < y are a gap unless trade y carries
-- source_prev_trade_id <= x, i.e. the source that listed y (REST, the archive) listed nothing after x before it. Those
-- ids do not exist at the source (futures REST and archive leave out non-market trades, which our live stream may
-- have missed), so nothing can heal them: they are listed as absent_at_source, which keeps the id accounting whole,
-- and never count as open.
with minutes as (
  select
    market,
    pair,
    minute_at,
    trade_count,
    trade_count - backfilled_count - archive_count as live_count,
    first_trade_id,
    first_trade_source_prev_id,
    last_trade_id,
    last_trade_at
  from intermediate.int_trades_1m
),

trades as (
  select
    market,
    pair,
    trade_id,
    trade_time,
    provenance,
    source_prev_trade_id
  from staging.stg_trades
),

between_minutes as (
  select
    market,
    pair,
    minute_at,
    lag(last_trade_id) over by_pair as id_before_gap,
    lag(last_trade_at) over by_pair as gap_after_time,
    first_trade_id as id_after_gap,
    first_trade_source_prev_id as source_prev_id_after_gap
  from minutes
  window by_pair as (partition by market, pair order by minute_at)
),

live_ranges as (
  -- a healed range lies between two live trades, so only minutes from the first to the last live one can hold it
  select
    market,
    pair,
    min(minute_at) as first_live_minute_at,
    max(minute_at) as last_live_minute_at
  from minutes
  where live_count > 0
  group by market, pair
),

minutes_to_read as (
  -- a minute holding every id from its first to its last has no hole inside; one of live trades only heals nothing
  select
    minutes.market,
    minutes.pair,
    minutes.minute_at
  from minutes
  left join live_ranges
    on minutes.market = live_ranges.market
    and minutes.pair = live_ranges.pair
  where minutes.last_trade_id - minutes.first_trade_id + 1 > minutes.trade_count
    or (
      minutes.live_count < minutes.trade_count
      and minutes.minute_at between live_ranges.first_live_minute_at and live_ranges.last_live_minute_at
    )
),

read_trades as (
  select
    trades.market,
    trades.pair,
    minutes_to_read.minute_at,
    trades.trade_id,
    trades.trade_time,
    trades.provenance,
    trades.source_prev_trade_id
  from trades
  inner join minutes_to_read
    on trades.market = minutes_to_read.market
    and trades.pair = minutes_to_read.pair
    and date_trunc('minute', trades.trade_time) = minutes_to_read.minute_at
),

sequenced as (
  -- ordered per pair rather than per minute: one sort instead of one per minute, half the time on 10M trades.
  -- run_key is constant along consecutive ids of one source (gaps and islands).
  select
    market,
    pair,
    minute_at,
    trade_id,
    trade_time,
    provenance,
    lead(trade_id) over by_pair as next_trade_id,
    lead(source_prev_trade_id) over by_pair as next_source_prev_id,
    lead(minute_at) over by_pair as next_minute_at,
    lag(trade_time) over by_pair as previous_trade_time,
    lag(minute_at) over by_pair as previous_minute_at,
    trade_id - row_number() over (partition by market, pair, provenance order by trade_id) as run_key
  from read_trades
  window by_pair as (partition by market, pair order by trade_id)
),

within_minutes as (
  -- a next trade in another minute is the between-minute case above
  select
    market,
    pair,
    trade_id as id_before_gap,
    trade_time as gap_after_time,
    next_trade_id as id_after_gap,
    next_source_prev_id as source_prev_id_after_gap
  from sequenced
  where next_minute_at = minute_at
),

missing_runs as (
  select market, pair, id_before_gap, gap_after_time, id_after_gap, source_prev_id_after_gap
  from between_minutes
  where id_after_gap - id_before_gap > 1
  union all
  select market, pair, id_before_gap, gap_after_time, id_after_gap, source_prev_id_after_gap
  from within_minutes
  where id_after_gap - id_before_gap > 1
),

filled_runs as (
  -- maximal runs of consecutive ids whose kept copy came from one source other than the stream
  select
    market,
    pair,
    provenance as healed_by,
    min(trade_id) as from_trade_id,
    max(trade_id) as to_trade_id,
    min(minute_at) as first_minute_at,
    max(minute_at) as last_minute_at,
    arg_min(previous_trade_time, trade_id) as previous_trade_time,
    arg_min(previous_minute_at, trade_id) as previous_minute_at
  from sequenced
  where provenance <> 'live'
  group by market, pair, provenance, run_key
),

live_bounds as (
  -- the pair's first and last live trade ids, known here when their minutes were read; a run in a later (earlier)
  -- minute than the first (last) live one lies after (before) it anyway
  select
    sequenced.market,
    sequenced.pair,
    min(sequenced.trade_id) filter (
      where sequenced.provenance = 'live' and sequenced.minute_at = live_ranges.first_live_minute_at
    ) as first_live_trade_id,
    max(sequenced.trade_id) filter (
      where sequenced.provenance = 'live' and sequenced.minute_at = live_ranges.last_live_minute_at
    ) as last_live_trade_id
  from sequenced
  inner join live_ranges
    on sequenced.market = live_ranges.market
    and sequenced.pair = live_ranges.pair
  group by sequenced.market, sequenced.pair
),

healed_gaps as (
  select
    filled_runs.market,
    filled_runs.pair,
    filled_runs.from_trade_id,
    filled_runs.to_trade_id,
    -- the trade just before the run: in its own minute, else the previous minute's last
    case
      when filled_runs.previous_minute_at = filled_runs.first_minute_at then filled_runs.previous_trade_time
      else between_minutes.gap_after_time
    end as gap_after_time,
    filled_runs.healed_by
  from filled_runs
  inner join live_ranges
    on filled_runs.market = live_ranges.market
    and filled_runs.pair = live_ranges.pair
  left join live_bounds
    on filled_runs.market = live_bounds.market
    and filled_runs.pair = live_bounds.pair
  left join between_minutes
    on filled_runs.market = between_minutes.market
    and filled_runs.pair = between_minutes.pair
    and filled_runs.first_minute_at = between_minutes.minute_at
  where (
    filled_runs.first_minute_at > live_ranges.first_live_minute_at
    or filled_runs.from_trade_id > live_bounds.first_live_trade_id
  )
  and (
    filled_runs.last_minute_at < live_ranges.last_live_minute_at
    or filled_runs.to_trade_id < live_bounds.last_live_trade_id
  )
),

final as (
  select
    market,
    pair,
    id_before_gap + 1 as from_trade_id,
    id_after_gap - 1 as to_trade_id,
    id_after_gap - id_before_gap - 1 as missing_count,
    gap_after_time,
    coalesce(getvariable('now_at')::timestamp, now()::timestamp) as first_seen_at,
    -- the gap rule: the source that listed the trade after the run vouches that nothing lies between
    case when source_prev_id_after_gap <= id_before_gap then 'absent_at_source' else 'open' end as status,
    null::varchar as healed_by
  from missing_runs

  union all
  select
    market,
    pair,
    from_trade_id,
    to_trade_id,
    to_trade_id - from_trade_id + 1 as missing_count,
    gap_after_time,
    coalesce(getvariable('now_at')::timestamp, now()::timestamp) as first_seen_at,
    'healed' as status,
    healed_by
  from healed_gaps
)

select * from final
