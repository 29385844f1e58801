/**
 * Archive zips on disk: writing one CSV entry from a stream (deflate, hashed as it is written) and reading a zip
 * back as an HTTP body, whole, cut short, stalled or aborted. Memory stays flat whatever the file's size.
 */
import { createHash } from "node:crypto";
import { configure, ZipWriter } from "@zip.js/zip.js";

configure({ useWebWorkers: false, useCompressionStream: true });

/** A zip written to disk. */
export interface BuiltZip {
  path: string;
  bytes: number;
  sha256: string;
}

/** Bytes read from disk per body chunk: 1 MiB, so a 160 MB day goes out on loopback at disk speed, not per 64 KiB pull. */
const READ_CHUNK = 1 << 20;
/** Text gathered before it is encoded and handed to the zip writer. */
const TEXT_CHUNK = 1 << 20;

/**
 * Writes a zip at `path` holding one deflated entry `entryName` with `data`, through a `.part` file renamed at the
 * end, so a half-written zip is never taken for a whole one.
 */
export async function writeZip(
  path: string,
  entryName: string,
  data: ReadableStream<Uint8Array>,
  lastModDate: Date,
): Promise<BuiltZip> {
  // Exchanges sharing a cache folder may build the same generated zip at once: each writes its own part file.
  const partial = `${path}.${crypto.randomUUID()}.part`;
  const file = await Deno.open(partial, { write: true, create: true, truncate: true });
  const hash = createHash("sha256");
  let bytes = 0;
  const hashing = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      bytes += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const written = hashing.readable.pipeTo(file.writable);
  try {
    const writer = new ZipWriter(hashing.writable, { extendedTimestamp: false });
    await writer.add(entryName, data, { lastModDate });
    await writer.close();
    await written;
  } catch (error) {
    await written.catch(() => {});
    await Deno.remove(partial).catch(() => {});
    throw error;
  }
  await Deno.rename(partial, path);
  return { path, bytes, sha256: hash.digest("hex") };
}

/** Text pieces as a byte stream, pulled as the reader wants them and gathered into chunks of about 1 MiB. */
export function textStream(pieces: Iterable<string>): ReadableStream<Uint8Array> {
  const iterator = pieces[Symbol.iterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      let text = "";
      while (text.length < TEXT_CHUNK) {
        const next = iterator.next();
        if (next.done) {
          if (text !== "") controller.enqueue(encoder.encode(text));
          controller.close();
          return;
        }
        text += next.value;
      }
      controller.enqueue(encoder.encode(text));
    },
    cancel() {
      iterator.return?.();
    },
  });
}

/** The sha256 of the first `length` bytes of a file. */
export async function sha256OfPrefix(path: string, length: number): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fileBody(path, { length })) hash.update(chunk);
  return hash.digest("hex");
}

/** How much of a file a body sends, and what happens after. */
export interface FileBodyOptions {
  /** Bytes sent from the start of the file. */
  length: number;
  /** After `length` bytes: `end` closes the body, `abort` errors it (the connection is cut), `stall` sends nothing. */
  then?: "end" | "abort" | "stall";
  /** How long a stall lasts before the body errors. */
  stallMs?: number;
  /** Ends a stall early (the server is shutting down). */
  signal?: AbortSignal;
  /** Called with each chunk's size as it goes out. */
  onBytes?: (bytes: number) => void;
}

/** The first `length` bytes of the file at `path` as a stream, read 64 KiB at a time. */
export function fileBody(path: string, options: FileBodyOptions): ReadableStream<Uint8Array> {
  const { length, then = "end", stallMs = 0, signal, onBytes } = options;
  let file: Deno.FsFile | undefined;
  let sent = 0;
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let cancelled = false;
  const closeFile = () => {
    file?.close();
    file = undefined;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= length) {
        closeFile();
        if (then === "end") return controller.close();
        if (then === "abort") return controller.error(new Error("archive fault (drop): connection cut on purpose"));
        // Stall: hold the body open, sending nothing, until the client gives up, the time is up or the server stops.
        await new Promise<void>((resolve) => {
          wake = resolve;
          stallTimer = setTimeout(resolve, stallMs);
          if (signal?.aborted) resolve();
          signal?.addEventListener("abort", () => resolve(), { once: true });
        });
        clearTimeout(stallTimer);
        if (cancelled) return; // the client gave up first, as the fault intends
        return controller.error(new Error("archive fault (slow): stalled body given up by the server"));
      }
      file ??= await Deno.open(path, { read: true });
      const buffer = new Uint8Array(Math.min(READ_CHUNK, length - sent));
      const count = await file.read(buffer);
      if (count === null) {
        closeFile();
        return controller.error(new Error(`Cannot read ${path}: the file ended at ${sent} bytes`));
      }
      sent += count;
      onBytes?.(count);
      controller.enqueue(buffer.subarray(0, count));
    },
    cancel() {
      cancelled = true;
      clearTimeout(stallTimer);
      wake?.();
      closeFile();
    },
  });
}
