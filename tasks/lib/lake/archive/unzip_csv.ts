/**
 * Unzips an archive file's one CSV to disk, streaming (memory does not grow with the file), and learns on the way
 * what the importer needs before DuckDB reads it: the first lines (for the layout), how many lines there are, and
 * whether the trade ids only go up (then each is there once, and the lake files can say so).
 *
 * The zip format and inflate are @zip.js/zip.js's, which inflates with the runtime's native DecompressionStream.
 */
import { configure, Reader, ZipReader } from "@zip.js/zip.js";

configure({ useWebWorkers: false, useCompressionStream: true, chunkSize: 1 << 18 });

/** What unzipping found. */
export interface UnzippedCsv {
  /** The entry's name inside the zip. */
  entryName: string;
  bytes: number;
  /** Lines that hold something (a header counts). */
  lines: number;
  firstLine: string;
  secondLine: string | undefined;
  /** Every line's first field, after a header, was a whole number above the one before. */
  idsIncreasing: boolean;
  /**
   * The first line (1-based) whose price or quantity is not plain digits with at most 8 after the point, which
   * DuckDB would round or misread; undefined when there is none (see import_sql.ts).
   */
  firstInexactLine: number | undefined;
}

/** What the line scan has seen so far, as each chunk is handed on. */
export interface CsvScan {
  readonly lines: number;
  readonly idsIncreasing: boolean;
  readonly firstInexactLine: number | undefined;
}

/** Where the inflated bytes go, in order: a file, or the importer's hour parts. */
export interface CsvSink {
  /** `scan` has seen `chunk` already (and nothing after it). */
  write(chunk: Uint8Array, scan: CsvScan): Promise<void>;
  /** After the last chunk, when the entry inflated whole; `scan` has seen every line. */
  close(scan: CsvScan): Promise<void>;
}

/** A zip that cannot be read: truncated, not a zip, or not holding exactly one CSV. */
export class BadZipError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BadZipError";
  }
}

/** Random access to a file on disk, for the zip reader (the central directory is at the end). */
class FileReader extends Reader<Deno.FsFile> {
  constructor(private readonly file: Deno.FsFile) {
    super(file);
  }

  override async init(): Promise<void> {
    this.size = (await this.file.stat()).size;
  }

  override async readUint8Array(index: number, length: number): Promise<Uint8Array> {
    const buffer = new Uint8Array(length);
    await this.file.seek(index, Deno.SeekMode.Start);
    let read = 0;
    while (read < length) {
      const count = await this.file.read(buffer.subarray(read));
      if (count === null) break;
      read += count;
    }
    return buffer.subarray(0, read);
  }
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;
const POINT = 0x2e;

/**
 * Counts lines, follows the ids at their starts and checks the price and quantity text, across chunk boundaries: a
 * line cut by a chunk's end is kept and read whole with the next chunk's first bytes.
 */
export class LineScanner implements CsvScan {
  lines = 0;
  idsIncreasing = true;
  firstInexactLine: number | undefined;
  #head = new Uint8Array(0);
  #lastId = -1;
  #carry = new Uint8Array(0);

  /** The first two lines, for the layout. */
  get firstLines(): [string, string | undefined] {
    const [first = "", second] = new TextDecoder().decode(this.#head).split("\n");
    return [first.replace(/\r$/, ""), second?.replace(/\r$/, "")];
  }

  scan(chunk: Uint8Array): void {
    if (this.#head.length < 4096) {
      const head = new Uint8Array(Math.min(4096, this.#head.length + chunk.length));
      head.set(this.#head);
      head.set(chunk.subarray(0, head.length - this.#head.length), this.#head.length);
      this.#head = head;
    }
    let start = 0;
    if (this.#carry.length > 0) {
      const end = chunk.indexOf(NEWLINE);
      const joined = new Uint8Array(this.#carry.length + (end === -1 ? chunk.length : end));
      joined.set(this.#carry);
      joined.set(end === -1 ? chunk : chunk.subarray(0, end), this.#carry.length);
      if (end === -1) {
        this.#carry = joined;
        return;
      }
      this.#line(joined, 0, joined.length);
      this.#carry = new Uint8Array(0);
      start = end + 1;
    }
    for (let end = chunk.indexOf(NEWLINE, start); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      this.#line(chunk, start, end);
      start = end + 1;
    }
    if (start < chunk.length) this.#carry = chunk.slice(start);
  }

  finish(): void {
    if (this.#carry.length > 0) this.#line(this.#carry, 0, this.#carry.length);
    this.#carry = new Uint8Array(0);
  }

  /** The line `bytes[start, end)` (without its line end). */
  #line(bytes: Uint8Array, start: number, end: number): void {
    if (end === start) return;
    this.lines++;
    let i = start;
    let id = 0;
    for (; i < end && i - start < 16; i++) {
      const byte = bytes[i]!;
      if (byte < 0x30 || byte > 0x39) break;
      id = id * 10 + (byte - 0x30);
    }
    const idOk = i > start && i < end && bytes[i] === COMMA;
    if (this.lines === 1 && !idOk) return; // a header
    if (!idOk || id <= this.#lastId) this.idsIncreasing = false;
    this.#lastId = id;
    if (this.firstInexactLine !== undefined) return;
    if (i === end) {
      this.firstInexactLine = this.lines; // the line ends in its id: no amounts at all
      return;
    }
    if (!idOk) return; // a line without a plain id: its amounts are not looked at either
    i++;
    for (let field = 0; field < 2; field++) {
      // Digits, at most one point, at most 8 digits after it, then a comma.
      let point = -1;
      for (; i < end; i++) {
        const byte = bytes[i]!;
        if (byte >= 0x30 && byte <= 0x39) continue;
        if (byte === POINT && point === -1) point = i;
        else break;
      }
      if (i >= end || bytes[i] !== COMMA || (point !== -1 && i - point - 1 > 8)) {
        this.firstInexactLine = this.lines;
        return;
      }
      i++;
    }
  }
}

/**
 * Unzips the one entry of `zipPath` into `csvPath` (replaced), calling `onBytes` with the bytes written so far.
 *
 * @throws {BadZipError} When the zip is truncated or damaged, or holds other than one file.
 */
export async function unzipCsv(
  zipPath: string,
  csvPath: string,
  onBytes: (written: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<UnzippedCsv> {
  const out = await Deno.open(csvPath, { write: true, create: true, truncate: true });
  try {
    return await unzipCsvTo(
      zipPath,
      {
        async write(chunk) {
          for (let at = 0; at < chunk.length;) at += await out.write(chunk.subarray(at));
        },
        async close() {},
      },
      onBytes,
      signal,
    );
  } finally {
    out.close();
  }
}

/**
 * Unzips the one entry of `zipPath` into `sink`, chunk by chunk, calling `onBytes` with the bytes inflated so far.
 *
 * @throws {BadZipError} When the zip is truncated or damaged, or holds other than one file.
 */
export async function unzipCsvTo(
  zipPath: string,
  sink: CsvSink,
  onBytes: (written: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<UnzippedCsv> {
  const zipFile = await Deno.open(zipPath, { read: true });
  const reader = new ZipReader(new FileReader(zipFile));
  try {
    let entries;
    try {
      entries = await reader.getEntries();
    } catch (error) {
      throw new BadZipError(`not a readable zip (${(error as Error).message})`, { cause: error });
    }
    const files = entries.filter((entry) => !entry.directory);
    if (files.length !== 1 || files[0]!.getData === undefined) {
      throw new BadZipError(`expected one CSV inside, found ${files.length} files`);
    }
    const entry = files[0]!;
    const scanner = new LineScanner();
    let written = 0;
    try {
      await entry.getData!(
        new WritableStream<Uint8Array>({
          async write(chunk) {
            if (signal?.aborted) throw signal.reason;
            scanner.scan(chunk);
            await sink.write(chunk, scanner);
            written += chunk.length;
            onBytes(written, entry.uncompressedSize);
          },
        }),
        { signal },
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new BadZipError(`the zip is damaged or cut short (${(error as Error).message})`, { cause: error });
    }
    if (written !== entry.uncompressedSize) {
      throw new BadZipError(`the zip is cut short: ${written} of ${entry.uncompressedSize} bytes inflated`);
    }
    scanner.finish();
    await sink.close(scanner);
    const [firstLine, secondLine] = scanner.firstLines;
    return {
      entryName: entry.filename,
      bytes: written,
      lines: scanner.lines,
      firstLine,
      secondLine,
      idsIncreasing: scanner.idsIncreasing,
      firstInexactLine: scanner.firstInexactLine,
    };
  } finally {
    await reader.close().catch(() => {});
    zipFile.close();
  }
}
