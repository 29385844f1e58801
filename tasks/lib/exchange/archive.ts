/**
 * The exchange's public trade archive (data.binance.vision layout), served from the exchange's own HTTP server:
 * generated days, prefilled trades and given CSVs, each zipped once on first request and kept on disk, with faults.
 *
 * Needs write access to the cache folder (`data/exchange-archive` by default) and read access to given CSVs.
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { type ArchiveCatalog, type ArchiveSource, archiveSource } from "./archive_catalog.ts";
import { type ArchiveCsvFormat, archiveCsvHeader, archiveCsvLine } from "./archive_csv.ts";
import {
  ARCHIVE_FAULT_KINDS,
  archiveFaultFor,
  type ArchiveFaultKind,
  type ArchiveFaults,
  wrongSha256,
} from "./archive_faults.ts";
import {
  archiveBaseName,
  type ArchiveFile,
  archiveTimeUnit,
  type ArchiveTimeUnitSetting,
  checksumBody,
  DAY_US,
  dayOfUs,
  dayStartUs,
  parseArchiveCsvName,
  parseArchivePath,
} from "./archive_paths.ts";
import { type ArchiveGeneration, archiveTrades } from "./archive_trades.ts";
import { type BuiltZip, fileBody, sha256OfPrefix, textStream, writeZip } from "./archive_zip.ts";
import { isMarketTrade, type Trade } from "./market.ts";
import type { Market } from "../market.ts";
import { PROJECT_ROOT } from "../paths.ts";

/** What the archive needs of the exchange's options. */
export interface ArchiveConfig {
  symbols: readonly string[];
  seed: number;
  startId: number;
  archive: ArchiveGeneration | undefined;
  archiveTimeUnit: ArchiveTimeUnitSetting;
  archiveHeader: boolean;
  archiveCacheDir: string | undefined;
  archiveCsv: readonly string[];
  archiveFaults: ArchiveFaults;
  archiveStallMs: number;
  /** USDⓈ-M: the `/data/futures/um/…` layout, header and milliseconds, MARKET trades only. */
  market: Market;
  nonMarketRate: number;
}

/** What the archive served: `archive` in the exchange's report. */
export interface ArchiveReport {
  /** Zip responses (GET), whole or faulty. */
  zips: number;
  checksums: number;
  /** Zip body bytes sent. */
  bytes: number;
  /** 404s for files the archive does not have (not counting `not_found` faults). */
  missing: number;
  /** Responses a fault changed, by kind. */
  faults: Record<ArchiveFaultKind, number>;
}

/** Where zips are kept unless `archiveCacheDir` says otherwise (relative to the project). */
export const DEFAULT_ARCHIVE_CACHE_DIR = "data/exchange-archive";

/** Bytes a `slow` zip sends before it stalls (at most half the zip, so small test files stall too). */
const SLOW_FIRST_BYTES = 64 * 1024;

/** The archive; {@link TradeArchive.open} makes one. */
export class TradeArchive {
  readonly #config: ArchiveConfig;
  #cacheDir: Promise<string> | undefined;
  #runDir: Promise<string> | undefined;
  readonly #prefilled = new Map<string, Map<string, Trade[]>>();
  readonly #csv: Map<string, string>;
  readonly #faults: ArchiveFaults;
  readonly #builds = new Map<string, Promise<BuiltZip>>();
  readonly #truncatedSha = new Map<string, Promise<string>>();
  readonly #closing = new AbortController();
  readonly #report: ArchiveReport = {
    zips: 0,
    checksums: 0,
    bytes: 0,
    missing: 0,
    faults: Object.fromEntries(ARCHIVE_FAULT_KINDS.map((kind) => [kind, 0])) as Record<ArchiveFaultKind, number>,
  };

  private constructor(config: ArchiveConfig, csv: Map<string, string>) {
    this.#config = config;
    this.#csv = csv;
    this.#faults = { ...config.archiveFaults };
  }

  /**
   * Checks the given CSVs; nothing is zipped, and the cache folder is made only when the first zip is built (so an
   * exchange whose archive is never asked for needs no write access).
   *
   * @throws {TypeError} When a given CSV is not named `<SYMBOL>-trades-<YYYY-MM-DD>.csv` (or `-<YYYY-MM>.csv`).
   * @throws {Deno.errors.NotFound} When a given CSV does not exist.
   */
  static async open(config: ArchiveConfig): Promise<TradeArchive> {
    const csv = new Map<string, string>();
    for (const path of config.archiveCsv) {
      const file = parseArchiveCsvName(basename(path));
      if (file === undefined) {
        throw new TypeError(
          `Cannot serve archive CSV "${path}": expected a file named <SYMBOL>-trades-<YYYY-MM-DD>.csv`,
        );
      }
      await Deno.stat(path);
      csv.set(archiveBaseName(file), path);
    }
    return new TradeArchive(config, csv);
  }

  /** Keeps prefilled trades (in id order per symbol) as the daily files of the days they fall on. */
  addPrefilled(trades: readonly Trade[]): void {
    for (const trade of trades) {
      const days = this.#prefilled.get(trade.symbol) ?? new Map<string, Trade[]>();
      this.#prefilled.set(trade.symbol, days);
      const day = dayOfUs(trade.timeUs);
      const list = days.get(day) ?? [];
      days.set(day, list);
      list.push(trade);
    }
  }

  /** The faults now in force, by date. */
  faults(): ArchiveFaults {
    return { ...this.#faults };
  }

  /** Sets (or, with `undefined`, clears) the fault of the files dated `date` (`YYYY-MM-DD`, `YYYY-MM` or `*`). */
  setFault(date: string, kind: ArchiveFaultKind | undefined): void {
    if (kind === undefined) delete this.#faults[date];
    else this.#faults[date] = kind;
  }

  report(): ArchiveReport {
    return { ...this.#report, faults: { ...this.#report.faults } };
  }

  /** Answers `GET` or `HEAD` of an archive path. */
  async handle(request: Request, url: URL): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(`Method ${request.method} is not allowed`, { status: 405, headers: { Allow: "GET, HEAD" } });
    }
    const head = request.method === "HEAD";
    const wanted = parseArchivePath(url.pathname, this.#config.market);
    const source = wanted && archiveSource(this.#catalog(), wanted.file);
    if (wanted === undefined || source === undefined) {
      this.#report.missing++;
      return noSuchKey(url.pathname, head);
    }
    const { file, checksum } = wanted;
    const key = archiveBaseName(file);
    const fault = archiveFaultFor(this.#faults, file.date);
    if (fault === "not_found") {
      this.#report.faults.not_found++;
      return noSuchKey(url.pathname, head);
    }
    let zip: BuiltZip;
    try {
      zip = await this.#build(file, source);
    } catch (error) {
      // E.g. no write access to the cache folder: say so in the answer rather than as a bare 500.
      const message = `Cannot build ${key}.zip: ${(error as Error).message}`;
      return new Response(head ? null : message, { status: 503, headers: { "Content-Type": "text/plain" } });
    }
    const half = Math.floor(zip.bytes / 2);

    if (checksum) {
      let sha256 = zip.sha256;
      if (fault === "wrong_checksum") sha256 = wrongSha256(sha256);
      if (fault === "truncated") sha256 = await this.#shaOfHalf(key, zip);
      const body = new TextEncoder().encode(checksumBody(sha256, file));
      if (!head) {
        this.#report.checksums++;
        if (fault === "wrong_checksum") this.#report.faults.wrong_checksum++;
      }
      return new Response(head ? null : body, {
        headers: { "Content-Type": "binary/octet-stream", "Content-Length": String(body.length) },
      });
    }

    const contentLength = fault === "truncated" ? half : zip.bytes;
    const headers = { "Content-Type": "application/zip", "Content-Length": String(contentLength) };
    if (head) return new Response(null, { headers });
    this.#report.zips++;
    if (fault === "truncated" || fault === "slow" || fault === "drop") this.#report.faults[fault]++;
    const length = fault === "slow" ? Math.min(SLOW_FIRST_BYTES, half) : fault === "drop" ? half : contentLength;
    const then = fault === "slow" ? "stall" : fault === "drop" ? "abort" : "end";
    const body = fileBody(zip.path, {
      length,
      then,
      stallMs: this.#config.archiveStallMs,
      signal: this.#closing.signal,
      onBytes: (bytes) => this.#report.bytes += bytes,
    });
    return new Response(body, { headers });
  }

  /** Ends stalled bodies, waits for builds, and removes this run's own folder (generated zips stay for the next run). */
  async close(): Promise<void> {
    this.#closing.abort();
    await Promise.allSettled(this.#builds.values());
    const dir = await this.#runDir?.catch(() => undefined);
    if (dir !== undefined) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  /**
   * Where this run's prefilled and given-CSV zips go: a folder of its own, since exchanges running at once may share
   * the cache folder and their prefilled days differ.
   */
  #runFolder(): Promise<string> {
    this.#runDir ??= this.#dir().then((dir) => Deno.makeTempDir({ dir, prefix: "run-" }));
    return this.#runDir;
  }

  /** The cache folder (`archiveCacheDir`, else `data/exchange-archive`), made on first use. */
  #dir(): Promise<string> {
    const dir = this.#config.archiveCacheDir ?? join(PROJECT_ROOT, DEFAULT_ARCHIVE_CACHE_DIR);
    this.#cacheDir ??= Deno.mkdir(dir, { recursive: true }).then(() => dir);
    return this.#cacheDir;
  }

  #catalog(): ArchiveCatalog {
    const { archive } = this.#config;
    return {
      symbols: new Set(this.#config.symbols),
      generated: archive,
      prefilled: new Map([...this.#prefilled].map(([symbol, days]) => [symbol, new Set(days.keys())])),
      csv: this.#csv,
    };
  }

  /** The file's zip, built once: concurrent first requests share one build; a failed build is tried again. */
  #build(file: ArchiveFile, source: ArchiveSource): Promise<BuiltZip> {
    const key = `${source.kind}/${archiveBaseName(file)}`;
    let build = this.#builds.get(key);
    if (build === undefined) {
      build = this.#buildNow(file, source);
      this.#builds.set(key, build);
      build.catch(() => this.#builds.delete(key));
    }
    return build;
  }

  async #buildNow(file: ArchiveFile, source: ArchiveSource): Promise<BuiltZip> {
    const name = archiveBaseName(file);
    const folder = source.kind === "generated"
      ? join(await this.#dir(), generatedFolder(this.#config))
      : join(await this.#runFolder(), source.kind);
    await Deno.mkdir(folder, { recursive: true });
    const path = join(folder, `${name}.zip`);
    // Generated zips depend only on the settings in the folder name, so one left by an earlier run is reused.
    if (source.kind === "generated") {
      const reused = await readSidecar(path);
      if (reused) return reused;
    }
    // A day's file is published the next day; the entry's date says so.
    const lastModDate = new Date((dayStartUs(`${file.date}-01`.slice(0, 10)) + DAY_US) / 1000);
    const built = await writeZip(path, `${name}.csv`, await this.#csvData(file, source), lastModDate);
    if (source.kind === "generated") await Deno.writeTextFile(`${path}.sha256`, `${built.sha256} ${built.bytes}\n`);
    return built;
  }

  async #csvData(file: ArchiveFile, source: ArchiveSource): Promise<ReadableStream<Uint8Array>> {
    if (source.kind === "csv") return (await Deno.open(source.path, { read: true })).readable;
    const { market } = this.#config;
    const format: ArchiveCsvFormat = {
      header: this.#config.archiveHeader || market === "usdm",
      unit: archiveTimeUnit(file.date, this.#config.archiveTimeUnit, market),
    };
    // Binance's futures archive lists only MARKET trades (generated days already hold only those).
    const trades = source.kind === "prefill"
      ? (this.#prefilled.get(file.symbol)?.get(source.day) ?? []).filter(isMarketTrade)
      : generatedTrades(this.#config, file.symbol, source.days);
    return textStream(csvPieces(trades, format));
  }

  #shaOfHalf(key: string, zip: BuiltZip): Promise<string> {
    let sha = this.#truncatedSha.get(key);
    if (sha === undefined) {
      sha = sha256OfPrefix(zip.path, Math.floor(zip.bytes / 2));
      this.#truncatedSha.set(key, sha);
    }
    return sha;
  }
}

/** The folder of generated zips: they depend only on the settings its name is a fingerprint of. */
function generatedFolder(config: ArchiveConfig): string {
  const { seed, startId, archive, archiveTimeUnit, archiveHeader, market, nonMarketRate } = config;
  const spot = { seed, startId, from: archive!.from, per: archive!.tradesPerDay, archiveTimeUnit };
  // Spot keeps the fingerprint it always had, so zips cached by earlier runs are still found.
  const settings = JSON.stringify(market === "spot" ? spot : { ...spot, market, nonMarketRate });
  const fingerprint = createHash("sha256").update(`${settings} ${archiveHeader}`).digest("hex").slice(0, 16);
  return `generated-${fingerprint}`;
}

function* generatedTrades(config: ArchiveConfig, symbol: string, days: readonly string[]): Generator<Trade> {
  for (const day of days) yield* archiveTrades(config, symbol, day);
}

function* csvPieces(trades: Iterable<Trade>, format: ArchiveCsvFormat): Generator<string> {
  const header = archiveCsvHeader(format);
  if (header !== "") yield header;
  for (const trade of trades) yield archiveCsvLine(trade, format);
}

/** A zip an earlier run built, if it is whole: its sidecar holds the sha256 and the size, written after the rename. */
async function readSidecar(path: string): Promise<BuiltZip | undefined> {
  try {
    const [sha256, bytes] = (await Deno.readTextFile(`${path}.sha256`)).trim().split(" ") as [string, string];
    if ((await Deno.stat(path)).size !== Number(bytes)) return undefined;
    return { path, bytes: Number(bytes), sha256 };
  } catch {
    return undefined;
  }
}

/** S3's answer for a key it does not hold. */
function noSuchKey(pathname: string, head: boolean): Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>` +
    `<Message>The specified key does not exist.</Message><Key>${escapeXml(pathname.slice(1))}</Key></Error>`;
  return new Response(head ? null : body, { status: 404, headers: { "Content-Type": "application/xml" } });
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
