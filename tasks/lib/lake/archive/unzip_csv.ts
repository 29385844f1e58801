/**
 * Unzips an archive file's one CSV to disk, streaming (memory does not grow with the file), and learns on the way
 * what the importer needs before DuckDB reads it: the first lines (for the layout), how many lines there are, and
 * whether the trade ids only go up (then each is there once, and the lake files can say so).
 *
 * The zip format and inflate are @zip.js/zip.js's, which inflates with the runtime's native DecompressionStream.
 */
import { configure, Reader, ZipReader } from "@zip.js/zip.js";

configure({ useWebWorkers: false, useCompressionStream: true, chunkSize: 1 << 20 });

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

/** Counts lines, follows the ids at their starts and checks the price and quantity text, across chunk boundaries. */
class LineScanner {
  lines = 0;
  idsIncreasing = true;
  firstInexactLine: number | undefined;
  #head = new Uint8Array(0);
  #lastId = -1;
  #id = 0;
  #idDigits = 0;
  /** 0: the id; 1, 2: the price and the quantity; 3: the rest of the line, skipped to its end. */
  #field = 0;
  #idOk = false;
  /** Digits after the point in the current amount; -1 before the point. */
  #fraction = -1;
  #amountOk = true;
  #lineLength = 0;

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
    for (let i = 0; i < chunk.length; i++) {
      if (this.#field === 3) {
        const end = chunk.indexOf(NEWLINE, i);
        if (end === -1) {
          this.#lineLength += chunk.length - i;
          return;
        }
        this.#lineLength += end - i;
        i = end;
        this.#endLine();
        continue;
      }
      const byte = chunk[i]!;
      if (byte === NEWLINE) {
        this.#endLine();
        continue;
      }
      this.#lineLength++;
      if (this.#field === 0) {
        if (byte >= 0x30 && byte <= 0x39 && this.#idDigits < 16) {
          this.#id = this.#id * 10 + (byte - 0x30);
          this.#idDigits++;
        } else {
          this.#idOk = byte === COMMA && this.#idDigits > 0;
          // a header or a line without a plain id: its amounts are not looked at either
          this.#field = this.#idOk ? 1 : 3;
        }
      } else if (byte >= 0x30 && byte <= 0x39) {
        if (this.#fraction >= 0) this.#fraction++;
      } else if (byte === POINT && this.#fraction === -1) {
        this.#fraction = 0;
      } else if (byte === COMMA) {
        if (this.#fraction > 8) this.#amountOk = false;
        this.#fraction = -1;
        this.#field++;
      } else {
        this.#amountOk = false;
        this.#field = 3;
      }
    }
  }

  finish(): void {
    if (this.#lineLength > 0) this.#endLine();
  }

  #endLine(): void {
    if (this.#lineLength > 0) {
      this.lines++;
      const isHeader = this.lines === 1 && !this.#idOk;
      if (!isHeader) {
        if (!this.#idOk || this.#id <= this.#lastId) this.idsIncreasing = false;
        this.#lastId = this.#id;
        if ((!this.#amountOk || this.#field < 3) && this.firstInexactLine === undefined) {
          this.firstInexactLine = this.lines;
        }
      }
    }
    this.#id = 0;
    this.#idDigits = 0;
    this.#field = 0;
    this.#idOk = false;
    this.#fraction = -1;
    this.#amountOk = true;
    this.#lineLength = 0;
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
  const zipFile = await Deno.open(zipPath, { read: true });
  const reader = new ZipReader(new FileReader(zipFile));
  let out: Deno.FsFile | undefined;
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
    out = await Deno.open(csvPath, { write: true, create: true, truncate: true });
    const target = out;
    let written = 0;
    try {
      await entry.getData!(
        new WritableStream<Uint8Array>({
          async write(chunk) {
            if (signal?.aborted) throw signal.reason;
            scanner.scan(chunk);
            for (let at = 0; at < chunk.length;) at += await target.write(chunk.subarray(at));
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
    out?.close();
    await reader.close().catch(() => {});
    zipFile.close();
  }
}
