-- Every candle's open, close and vwap lie within its low and high.
select *
from marts.fct_candles_1m
where not (
  low <= open and open <= high
  and low <= close and close <= high
  and low <= vwap and vwap <= high
)
