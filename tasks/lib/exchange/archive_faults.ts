/**
 * Faults of the archive, by file date: what a test asks the archive to get wrong, and which file it hits. Pure.
 *
 * - `wrong_checksum`: the `.CHECKSUM` holds another valid-looking sha256.
 * - `not_found`: 404 for the zip and its checksum.
 * - `truncated`: the zip is cut to half its bytes and the checksum matches the cut bytes (the publisher's own
 *   broken file).
 * - `slow`: the first 64 KiB (at most half the zip) go out, then nothing until the client gives up.
 * - `drop`: Content-Length of the whole zip, half the body, then the connection is aborted.
 */
import { isArchiveDay, isArchiveMonth } from "./archive_paths.ts";

/** Every kind, in the order reports list them. */
export const ARCHIVE_FAULT_KINDS = ["wrong_checksum", "not_found", "truncated", "slow", "drop"] as const;

/** One kind of archive fault. */
export type ArchiveFaultKind = typeof ARCHIVE_FAULT_KINDS[number];

/** Faults keyed by a file's date (`YYYY-MM-DD` or `YYYY-MM`), or `*` for every file without its own. */
export type ArchiveFaults = Record<string, ArchiveFaultKind>;

/** Whether `text` names an archive fault kind. */
export function isArchiveFaultKind(text: string): text is ArchiveFaultKind {
  return (ARCHIVE_FAULT_KINDS as readonly string[]).includes(text);
}

/** Whether `text` can key a fault: a day, a month or `*`. */
export function isArchiveFaultDate(text: string): boolean {
  return text === "*" || isArchiveDay(text) || isArchiveMonth(text);
}

/** The fault of the file dated `date`: its own, else the `*` one, else none. */
export function archiveFaultFor(faults: ArchiveFaults, date: string): ArchiveFaultKind | undefined {
  return Object.hasOwn(faults, date) ? faults[date] : Object.hasOwn(faults, "*") ? faults["*"] : undefined;
}

/**
 * Parses `kind:DATE`, e.g. `wrong_checksum:2024-08-02`.
 *
 * @throws {SyntaxError} When the kind or the date is not one the archive knows.
 */
export function parseArchiveFault(text: string): [date: string, kind: ArchiveFaultKind] {
  const at = text.indexOf(":");
  const kind = text.slice(0, at);
  const date = text.slice(at + 1);
  if (at < 0 || !isArchiveFaultKind(kind) || !isArchiveFaultDate(date)) {
    throw new SyntaxError(
      `Cannot parse archive fault "${text}": expected kind:DATE with kind one of ${ARCHIVE_FAULT_KINDS.join(", ")} ` +
        "and DATE YYYY-MM-DD, YYYY-MM or *",
    );
  }
  return [date, kind];
}

/** A sha256 that is not `sha256` but looks like one: every hex digit shifted by one. */
export function wrongSha256(sha256: string): string {
  return [...sha256].map((digit) => ((parseInt(digit, 16) + 1) % 16).toString(16)).join("");
}
