/**
 * What changed in the lake since the last refresh, and so from when the incremental models must be rebuilt. Pure.
 *
 * The lake only changes by files appearing (the consumer), being replaced (compaction) or disappearing (compaction,
 * retention). Each refresh records the files it saw; any difference marks its hour partition as changed, and the
 * incremental models are rebuilt from the earliest changed hour (minus a look-back), late trades included.
 */
import type { LakeFile } from "../lake/storage/listing.ts";

/** A lake file as a refresh recorded it. */
export interface SeenFile {
  path: string;
  bytes: number;
  modifiedMs: number;
  hourStartMs: number;
}

/** The start of the earliest hour partition whose files differ between `seen` and `now`, or undefined. */
export function earliestChangedHour(seen: readonly SeenFile[], now: readonly LakeFile[]): number | undefined {
  const before = new Map(seen.map((file) => [file.path, file]));
  let earliest: number | undefined;
  const mark = (hourStartMs: number) => {
    earliest = earliest === undefined ? hourStartMs : Math.min(earliest, hourStartMs);
  };
  for (const file of now) {
    const old = before.get(file.path);
    if (!old || old.bytes !== file.bytes || old.modifiedMs !== file.modifiedMs) mark(file.hourStartMs);
    before.delete(file.path);
  }
  for (const gone of before.values()) mark(gone.hourStartMs);
  return earliest;
}

/** `ms` as a DuckDB timestamp literal body, `YYYY-MM-DD HH:MM:SS` (UTC). */
export function timestampLiteral(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}
