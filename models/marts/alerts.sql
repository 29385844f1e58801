-- Kept by the builder (materialized: external): every alert with when it opened and resolved, and whether the
-- webhook was told (deno task notify). This only gives the column names and types; it selects no rows.
select
  null::varchar as alert_id,
  -- alerts kept from before markets existed are spot's: the builder adds the column to them as 'spot'
  null::varchar as market,
  null::varchar as pair,
  null::varchar as kind,
  null::timestamp as opened_at,
  null::timestamp as last_seen_at,
  null::timestamp as resolved_at,
  null::double as value,
  null::double as threshold,
  null::varchar as message,
  null::timestamp as notified_opened_at,
  null::timestamp as notified_resolved_at
where false
