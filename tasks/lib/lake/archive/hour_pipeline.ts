/**
 * The import's pipeline: the CSV, as it is inflated, cut into one part file per hour (hour_parts.ts), each handed to
 * `convert` as soon as it is whole, so DuckDB converts hour k while hour k + 1 is inflated. Together the parts are
 * the file's lines without its header, in order: when the pipeline cannot finish (times going back to an earlier
 * hour, a part its statement refused, an amount to check), the importer reads them all with the whole-file
 * statement instead.
 */
import { join } from "node:path";
import { type CsvLayout, detectCsvLayout } from "./csv_layout.ts";
import { HourSplitter } from "./hour_parts.ts";
import type { CsvScan, CsvSink } from "./unzip_csv.ts";

/** One hour's lines on disk. */
export interface HourPart {
  path: string;
  /** Whole hours since 1970 (UTC). */
  hour: number;
  /** Every id up to the end of the part went up: each is in the part once. */
  idsIncreasing: boolean;
  /**
   * The id of the file's line just before the part's first (the last of the part before), while every id up to it
   * went up; null for the first part, and once ids did not.
   */
  previousId: number | null;
}

/** Converts one part on connection `slot` (0 … concurrency − 1, one part at a time each); false when refused. */
export type ConvertHour = (part: HourPart, layout: CsvLayout, slot: number) => Promise<boolean>;

const NEWLINE = 0x0a;
const MS_PER_HOUR = 3_600_000;

/** A {@link CsvSink} writing hour parts under `workDir` and converting each, `concurrency` at once, once it is whole. */
export class HourPartSink implements CsvSink {
  /** Every part written, in order. */
  readonly parts: HourPart[] = [];
  #layout: CsvLayout | undefined;
  #unreadable = false;
  #head: Uint8Array[] = [];
  #splitter: HourSplitter | undefined;
  #file: Deno.FsFile | undefined;
  #hour: number | undefined;
  /** The id of the last line written, or null when unknown. */
  #lastId: number | null = null;
  #waiting: HourPart[] = [];
  #freeSlots: number[];
  readonly #running = new Set<Promise<void>>();
  #refused = false;
  /** Statements allowed at once: fewer while the unzip still needs a core. */
  #limit: number;
  readonly #signal: AbortSignal | undefined;

  constructor(
    private readonly workDir: string,
    private readonly baseName: string,
    private readonly convert: ConvertHour,
    options: { concurrency?: number; concurrencyWhileInflating?: number; signal?: AbortSignal | undefined } = {},
  ) {
    this.#freeSlots = Array.from({ length: options.concurrency ?? 1 }, (_, slot) => slot);
    this.#limit = Math.min(this.#freeSlots.length, options.concurrencyWhileInflating ?? this.#freeSlots.length);
    this.#signal = options.signal;
  }

  async write(chunk: Uint8Array, scan: CsvScan): Promise<void> {
    if (this.#unreadable) return;
    if (this.#splitter !== undefined) return await this.#write(this.#splitter.push(chunk), scan);
    this.#head.push(chunk);
    const head = concat(this.#head);
    const first = head.indexOf(NEWLINE);
    if (first !== -1 && head.indexOf(NEWLINE, first + 1) !== -1) await this.#start(head, scan);
  }

  async close(scan: CsvScan): Promise<void> {
    if (this.#splitter === undefined && !this.#unreadable) await this.#start(concat(this.#head), scan);
    if (this.#splitter !== undefined) await this.#write(this.#splitter.end(), scan);
    this.#limit = this.#freeSlots.length + this.#running.size;
    this.#closePart(scan);
  }

  /** Waits for the conversions; true when every part was converted. */
  async converted(): Promise<boolean> {
    await this.#idle();
    return !this.#refused && !this.#unreadable && this.#splitter?.sorted === true && this.#file === undefined;
  }

  /** Stops converting, waits for the statements running, and closes the open part. */
  async settle(): Promise<void> {
    this.#refuse();
    await this.#idle();
    this.#file?.close();
    this.#file = undefined;
  }

  /** The first lines are in: the layout decides the header and the time unit. */
  async #start(head: Uint8Array, scan: CsvScan): Promise<void> {
    const [first = "", second] = new TextDecoder().decode(head.subarray(0, 4096)).split("\n");
    try {
      this.#layout = detectCsvLayout(first.replace(/\r$/, ""), second?.replace(/\r$/, ""));
    } catch {
      // The importer says why once the zip is inflated; nothing is split.
      this.#unreadable = true;
      return;
    }
    this.#head = [];
    this.#splitter = new HourSplitter(this.#layout.timeUnit === "us" ? MS_PER_HOUR * 1000 : MS_PER_HOUR);
    const body = this.#layout.hasHeader ? head.subarray(head.indexOf(NEWLINE) + 1) : head;
    await this.#write(this.#splitter.push(body), scan);
  }

  async #write(pieces: { hour: number; bytes: Uint8Array }[], scan: CsvScan): Promise<void> {
    for (const piece of pieces) {
      if (piece.hour !== this.#hour || this.#file === undefined) {
        this.#closePart(scan);
        const path = join(this.workDir, partName(this.baseName, this.parts.length));
        this.#file = await Deno.open(path, { write: true, create: true, truncate: true });
        this.#hour = piece.hour;
        const previousId = scan.idsIncreasing ? this.#lastId : null;
        this.parts.push({ path, hour: piece.hour, idsIncreasing: false, previousId });
      }
      for (let at = 0; at < piece.bytes.length;) at += await this.#file.write(piece.bytes.subarray(at));
      this.#lastId = lastLineId(piece.bytes);
    }
  }

  /** Closes the part being written and, while nothing refused the file, converts it next. */
  #closePart(scan: CsvScan): void {
    if (this.#file === undefined) return;
    this.#file.close();
    this.#file = undefined;
    const part = this.parts.at(-1)!;
    part.idsIncreasing = scan.idsIncreasing;
    // An amount DuckDB would round, or times not in order: the importer takes the whole-file way.
    if (scan.firstInexactLine !== undefined || !this.#splitter!.sorted) this.#refuse();
    if (this.#refused) return;
    this.#waiting.push(part);
    this.#pump();
  }

  /** Starts waiting parts on the free connections. */
  #pump(): void {
    while (!this.#refused && this.#waiting.length > 0 && this.#running.size < this.#limit) {
      if (this.#signal?.aborted) return this.#refuse();
      const part = this.#waiting.shift()!;
      const slot = this.#freeSlots.pop()!;
      const running: Promise<void> = this.convert(part, this.#layout!, slot)
        .catch(() => false)
        .then((converted) => {
          if (!converted) this.#refuse();
          this.#running.delete(running);
          this.#freeSlots.push(slot);
          this.#pump();
        });
      this.#running.add(running);
    }
  }

  #refuse(): void {
    this.#refused = true;
    this.#waiting = [];
  }

  async #idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }
}

const COMMA = 0x2c;
const DIGIT_0 = 0x30;

/** The id (first field) of the last line of `bytes` (whole lines), or null when it is not a whole number. */
export function lastLineId(bytes: Uint8Array): number | null {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === NEWLINE || bytes[end - 1] === 0x0d)) end--;
  const start = bytes.lastIndexOf(NEWLINE, end - 1) + 1;
  let id = 0;
  let digits = 0;
  for (let at = start; at < end && bytes[at] !== COMMA; at++) {
    const digit = bytes[at]! - DIGIT_0;
    if (digit < 0 || digit > 9 || ++digits > 16) return null;
    id = id * 10 + digit;
  }
  return digits === 0 || !Number.isSafeInteger(id) ? null : id;
}

function partName(baseName: string, index: number): string {
  return `${baseName}.part-${String(index).padStart(4, "0")}.csv`;
}

/** Removes the parts of `baseName` a killed import left in `workDir` (part names repeat, their count may not). */
export async function removeLeftoverParts(workDir: string, baseName: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(workDir)) {
      if (entry.isFile && entry.name.startsWith(`${baseName}.part-`)) await Deno.remove(join(workDir, entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}
