-- Kept by `deno task reconcile` (materialized: external): the builder only creates it, empty, from this SELECT when
-- it is missing, and carries it across full rebuilds. So this selects no rows, only the column names and types.
select
  -- rows kept from before markets existed are spot's: the builder adds the column to them as 'spot'
  null::varchar as market,
  null::varchar as pair,
  null::timestamp as minute_at,
  null::varchar as status,
  null::varchar as mismatched_fields,
  null::varchar as differences,
  null::integer as checks,
  null::timestamp as checked_at,
  null::varchar as candle_hash
where false
