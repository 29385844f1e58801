"""Reads the lake with pyarrow (an engine that is not DuckDB) and prints what it sees as JSON."""
import json
import sys

import pyarrow.compute as pc
import pyarrow.dataset as ds

dataset = ds.dataset(sys.argv[1], format="parquet", partitioning="hive")
table = dataset.to_table()
pairs = table.group_by("pair").aggregate([("trade_id", "count")]).to_pylist()
print(json.dumps({
    "rows": table.num_rows,
    "types": {field.name: str(field.type) for field in table.schema},
    "trades_per_pair": {row["pair"]: row["trade_id_count"] for row in pairs},
    "hours": sorted(set(pc.unique(table["hour"]).to_pylist())),
}))
