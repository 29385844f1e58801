/**
 * Downloads one archive zip into the cache and checks it against its `.CHECKSUM` before anything reads it: the
 * bytes are hashed as they arrive, written under a `.part` name, and renamed to the zip's name only when the sha256
 * matches. A download that stops sending for `stallTimeoutMs` is given up.
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { parseChecksum } from "./archive_files.ts";

/** The archive has no such file (HTTP 404): not published yet, or never. */
export class ArchiveFileMissing extends Error {
  constructor(readonly url: string) {
    super(`not in the archive (HTTP 404): ${url}`);
    this.name = "ArchiveFileMissing";
  }
}

/** The download failed or its bytes are not the archive's: retrying later may help. */
export class DownloadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DownloadError";
  }
}

/** How to download. */
export interface DownloadOptions {
  /** Give up when no byte arrived for this long. */
  stallTimeoutMs: number;
  onProgress?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal | undefined;
}

/** A verified zip in the cache. */
export interface DownloadedZip {
  path: string;
  bytes: number;
  sha256: string;
  /** It was in the cache already, verified against the same checksum. */
  cached: boolean;
}

/** The sha256 the archive publishes for `zipUrl`. */
export async function fetchChecksum(checksumUrl: URL, zipName: string, options: DownloadOptions): Promise<string> {
  const text = new TextDecoder().decode(await fetchAll(checksumUrl, options));
  try {
    return parseChecksum(text, zipName);
  } catch (error) {
    throw new DownloadError((error as Error).message);
  }
}

/** Downloads `zipUrl` to `path` (or reuses a cached copy) and checks its sha256 is `expected`. */
export async function downloadVerified(
  zipUrl: URL,
  path: string,
  expected: string,
  options: DownloadOptions,
): Promise<DownloadedZip> {
  const cachedSha = await sha256OfFile(path);
  if (cachedSha === expected) return { path, bytes: (await Deno.stat(path)).size, sha256: expected, cached: true };
  await Deno.mkdir(dirname(path), { recursive: true });
  const partial = `${path}.part`;
  const hash = createHash("sha256");
  let bytes = 0;
  const file = await Deno.open(partial, { write: true, create: true, truncate: true });
  try {
    await streamBody(zipUrl, options, async (chunk, total) => {
      hash.update(chunk);
      for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
      bytes += chunk.length;
      options.onProgress?.(bytes, total);
    });
  } finally {
    file.close();
  }
  const actual = hash.digest("hex");
  if (actual !== expected) {
    await Deno.remove(partial).catch(() => {});
    throw new DownloadError(
      `checksum mismatch: the .CHECKSUM says ${expected}, the ${bytes} bytes downloaded hash to ${actual}`,
    );
  }
  await Deno.rename(partial, path);
  return { path, bytes, sha256: actual, cached: false };
}

async function sha256OfFile(path: string): Promise<string | undefined> {
  let file;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const hash = createHash("sha256");
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

async function fetchAll(url: URL, options: DownloadOptions): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await streamBody(url, options, (chunk) => {
    chunks.push(chunk);
    return Promise.resolve();
  });
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/** GETs `url` and hands each body chunk to `onChunk`, aborting when the server goes quiet for the stall timeout. */
async function streamBody(
  url: URL,
  options: DownloadOptions,
  onChunk: (chunk: Uint8Array, total: number | undefined) => Promise<void>,
): Promise<void> {
  const stalled = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stalled.signal]) : stalled.signal;
  let timer = setTimeout(() => stalled.abort(), options.stallTimeoutMs);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stalled.abort(), options.stallTimeoutMs);
  };
  const seconds = options.stallTimeoutMs / 1000;
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const why = stalled.signal.aborted ? `no answer within ${seconds} s` : (error as Error).message;
      throw new DownloadError(`cannot download ${url}: ${why}`, { cause: error });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      throw new ArchiveFileMissing(url.href);
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new DownloadError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
    }
    const length = Number(response.headers.get("content-length") ?? NaN);
    const total = Number.isFinite(length) ? length : undefined;
    let received = 0;
    try {
      for await (const chunk of response.body) {
        rearm();
        received += chunk.length;
        await onChunk(chunk, total);
      }
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const why = stalled.signal.aborted
        ? `nothing received for ${seconds} s after ${received} bytes`
        : `the connection dropped after ${received} bytes (${(error as Error).message})`;
      throw new DownloadError(`cannot download ${url}: ${why}`, { cause: error });
    }
    if (total !== undefined && received !== total) {
      throw new DownloadError(`cannot download ${url}: the connection ended after ${received} of ${total} bytes`);
    }
  } finally {
    clearTimeout(timer);
  }
}
