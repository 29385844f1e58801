/**
 * A lake file's promise that it holds each trade id once. Writers state it in the file's Parquet key-value metadata
 * when they know it, like the min/max statistics they also write; the mart builder then skips deduplicating the
 * trades of a marked file whose id range no other file of its hour overlaps. Pure.
 */

/** The key-value pair a writer sets on a file whose trade ids are all different. */
export const UNIQUE_TRADE_IDS = { key: "trade_ids", value: "unique" } as const;

/** The `COPY ... TO` option that writes the marker. */
export const UNIQUE_TRADE_IDS_OPTION = `kv_metadata {${UNIQUE_TRADE_IDS.key}: '${UNIQUE_TRADE_IDS.value}'}`;

/** Whether `ids` holds each id once: one pass when they come in increasing order (the usual case), else a Set. */
export function allDifferent(ids: ArrayLike<number> & Iterable<number>): boolean {
  let increasing = true;
  for (let i = 1; i < ids.length && increasing; i++) increasing = ids[i]! > ids[i - 1]!;
  return increasing || new Set(ids).size === ids.length;
}
