/**
 * Splits an archive CSV, as it is inflated, into runs of whole lines that each hold one hour's trades, so the
 * importer can convert an hour while the next one is inflated, and write each as one file without DuckDB's
 * partitioned write. Pure.
 *
 * Archive files list trades in id order, so their times only go up: the splitter reads the time of each chunk's last
 * line, and reads lines one by one only in the chunks where the hour changes. A file whose times go back to an earlier
 * hour cannot be split so, and `sorted` turns false. A line whose time cannot be read stays in the hour before it;
 * the import statement checks that every line lies in its part's hour, whatever the splitter made of it.
 */

/** Whole lines of one hour, `hour` counted in whole hours since 1970 (UTC). */
export interface HourPiece {
  hour: number;
  bytes: Uint8Array;
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;
/** The time is the fifth field in both layouts (`id,price,qty,quote_qty,time,…`). */
const TIME_FIELD = 4;

/** Cuts a stream of CSV chunks (header already left out) into {@link HourPiece}s. */
export class HourSplitter {
  /** Whether every hour so far came after the one before. */
  sorted = true;
  #hour: number | undefined;
  #carry: Uint8Array = new Uint8Array(0);

  /** `unitsPerHour`: 3.6e9 for microsecond times, 3.6e6 for milliseconds. */
  constructor(private readonly unitsPerHour: number) {}

  /** The pieces of `chunk` that end with a whole line; the rest is kept for the next chunk. */
  push(chunk: Uint8Array): HourPiece[] {
    const pieces: HourPiece[] = [];
    let rest = chunk;
    if (this.#carry.length > 0) {
      const end = chunk.indexOf(NEWLINE);
      if (end === -1) {
        this.#carry = concat(this.#carry, chunk);
        return pieces;
      }
      this.#lines(concat(this.#carry, chunk.subarray(0, end + 1)), pieces);
      this.#carry = new Uint8Array(0);
      rest = chunk.subarray(end + 1);
    }
    const last = rest.lastIndexOf(NEWLINE);
    this.#carry = rest.slice(last + 1);
    if (last >= 0) this.#lines(rest.subarray(0, last + 1), pieces);
    return pieces;
  }

  /** The last line, when the file does not end with a line end. */
  end(): HourPiece[] {
    const pieces: HourPiece[] = [];
    if (this.#carry.length > 0) this.#lines(this.#carry, pieces);
    this.#carry = new Uint8Array(0);
    return pieces;
  }

  /** Splits `bytes` (whole lines, the last one maybe without its line end) at each change of hour. */
  #lines(bytes: Uint8Array, pieces: HourPiece[]): void {
    let start = 0;
    while (start < bytes.length) {
      if (this.#hour !== undefined && this.#hourOf(bytes, lastLineStart(bytes, start)) === this.#hour) break;
      // The hour changes somewhere in here: find the first line of another hour.
      let at = start;
      let found = -1;
      while (at < bytes.length) {
        const hour = this.#hourOf(bytes, at);
        if (hour !== undefined && hour !== this.#hour) {
          found = at;
          break;
        }
        const end = bytes.indexOf(NEWLINE, at);
        at = end === -1 ? bytes.length : end + 1;
      }
      if (found === -1) break; // only lines of this hour (or unreadable ones) are left
      const hour = this.#hourOf(bytes, found)!;
      if (this.#hour !== undefined) {
        if (found > start) pieces.push({ hour: this.#hour, bytes: bytes.subarray(start, found) });
        if (hour < this.#hour) this.sorted = false;
        start = found;
      }
      this.#hour = hour;
    }
    if (start < bytes.length) {
      // Lines before any readable time go with the first hour found after them, or hour 0 if none ever is.
      pieces.push({ hour: this.#hour ?? 0, bytes: bytes.subarray(start) });
    }
  }

  /** The hour of the line starting at `at`, or undefined when its time is not a plain whole number. */
  #hourOf(bytes: Uint8Array, at: number): number | undefined {
    let field = 0;
    let i = at;
    while (field < TIME_FIELD) {
      const comma = bytes.indexOf(COMMA, i);
      const end = bytes.indexOf(NEWLINE, i);
      if (comma === -1 || (end !== -1 && end < comma)) return undefined;
      i = comma + 1;
      field++;
    }
    let time = 0;
    let digits = 0;
    for (; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte < 0x30 || byte > 0x39) break;
      time = time * 10 + (byte - 0x30);
      digits++;
    }
    if (digits === 0 || digits > 17 || (i < bytes.length && bytes[i] !== COMMA)) return undefined;
    return Math.floor(time / this.unitsPerHour);
  }
}

/** Where the last line of `bytes` (from `from` on) starts; `bytes` ends with a line end, or with an unended line. */
function lastLineStart(bytes: Uint8Array, from: number): number {
  const end = bytes[bytes.length - 1] === NEWLINE ? bytes.length - 2 : bytes.length - 1;
  return end < from ? from : Math.max(from, bytes.lastIndexOf(NEWLINE, end) + 1);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
