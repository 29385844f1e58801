/**
 * The local Binance-compatible exchange: trades generated (or replayed) on a timer, streamed over WebSocket,
 * served over REST, with faults and admin endpoints for tests.
 *
 * Everything listens on 127.0.0.1 only. Needs net to loopback, and read access to the replay file if any.
 */
import { aggregate, type AggTrade } from "./agg_trades.ts";
import { type ArchiveReport, TradeArchive } from "./archive.ts";
import { isArchiveFaultDate, isArchiveFaultKind } from "./archive_faults.ts";
import { EncodedTrade, nowUs, StreamConnection } from "./connection.ts";
import { FAULT_KINDS, FaultInjector, type FaultKind } from "./faults.ts";
import { TradeHistory } from "./history.ts";
import { type FuturesRestContext, handleFuturesRest } from "./futures_rest.ts";
import { createMarket, isMarketTrade, type Market, nextTrades, type Trade, tradesDue } from "./market.ts";
import { type ExchangeOptions, resolveExchangeOptions } from "./options.ts";
import { deriveSeed, mulberry32 } from "./prng.ts";
import { replayCsv } from "./replay.ts";
import { sleep } from "../sleep.ts";
import { handleRest } from "./rest.ts";
import { parseSubscription } from "./streams.ts";
import { WeightLimiter } from "./weight.ts";

/** Trades generated for one symbol since the start, prefilled ones included (they are the exchange's too). */
export interface SymbolReport {
  firstId: number | null;
  lastId: number | null;
  count: number;
  /**
   * USDⓈ-M only: how many of `count` were non-market trades (INSURANCE_FUND, ADL, NA), and their ids, ascending.
   * The live stream shows them; REST and the archive do not list them, so their ids are absent there.
   */
  nonMarketCount?: number;
  nonMarketIds?: number[];
}

/** What the exchange did: `GET /admin/stats`, and the last line the task prints. */
export interface ExchangeReport {
  /** Only on USDⓈ-M (spot's report is as it always was). */
  market?: "usdm";
  symbols: Record<string, SymbolReport>;
  /** Every trade made, prefilled ones included. */
  trades: number;
  /**
   * Of those, the trades made at start for `prefillMinutes` (the first ids of each symbol). They count towards
   * `symbols` and `trades`, so "the ids the exchange made" stay every id; they do not count towards `maxTrades`,
   * which limits live generation.
   */
  prefilled: number;
  faults: Record<FaultKind, number>;
  connections: { open: number; total: number };
  rest: { requests: number; throttled: number };
  /** Only in replay mode. */
  replay?: { rejectedLines: number; finished: boolean };
  /** What the trade archive (`/data/spot/…`, or `/data/futures/um/…`) served. */
  archive: ArchiveReport;
}

/** Why the exchange finished on its own. */
export type StopReason = "duration" | "max-trades" | "replay-finished";

/** A running exchange. */
export interface Exchange {
  readonly hostname: "127.0.0.1";
  readonly port: number;
  readonly symbols: readonly string[];
  stats(): ExchangeReport;
  /** Resolves when `durationSeconds` elapsed, or everything was generated and sent with `exitAfterMax`. */
  readonly done: Promise<StopReason>;
  /** Closes every WebSocket connection at once; returns how many. */
  disconnectAll(): number;
  /** Stalls every WebSocket connection for `ms`; returns how many. */
  stallAll(ms: number): number;
  /** Stops generating, closes every connection and the listener. */
  shutdown(): Promise<void>;
}

/** Where the exchange reports progress and skipped replay lines (the task sends them to stderr). */
export interface ExchangeHooks {
  log?: (line: string) => void;
}

/** Timer period of the generator: small enough that trades flow smoothly, large enough to batch. */
const TICK_MS = 15;
/** Most trades one tick generates, so a long event-loop pause is caught up over several ticks. */
const MAX_TRADES_PER_TICK = 50_000;
/** A replay at full speed waits while any client has this many trades queued. */
const REPLAY_QUEUE_LIMIT = 20_000;
/** How long to wait for clients to finish their close handshake on shutdown. */
const CLOSE_GRACE_MS = 2000;
/** Skipped replay lines logged one by one; the rest are only counted. */
const LOGGED_BAD_LINES = 10;
/** Prefilled trades published together. */
const PREFILL_BATCH = 10_000;

/**
 * Starts the exchange on 127.0.0.1 and resolves once it listens.
 *
 * @example
 * ```ts
 * const exchange = await startExchange({ port: 0, symbols: ["BTCUSDT"], seed: 7, rate: 100 });
 * const socket = new WebSocket(`ws://127.0.0.1:${exchange.port}/ws/btcusdt@trade`);
 * // …
 * await exchange.shutdown();
 * ```
 * @throws {Deno.errors.NotFound} When the replay file or a given archive CSV does not exist.
 * @throws {TypeError} When a given archive CSV is not named like an archive file, or prefill is asked with replay.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 */
export async function startExchange(options: ExchangeOptions = {}, hooks: ExchangeHooks = {}): Promise<Exchange> {
  const config = resolveExchangeOptions(options);
  const log = hooks.log ?? (() => {});
  if (config.replay) await Deno.stat(config.replay.path); // fail before listening, not in the background
  if (config.replay && config.prefillMinutes > 0) {
    throw new TypeError("Cannot prefill a replay: a replay streams the file's own trades");
  }
  const futures = config.market === "usdm";
  if (config.replay && futures) throw new TypeError("Cannot replay on usdm: replays are spot archive CSVs");
  const archive = await TradeArchive.open(config);

  const served = new Set(config.symbols);
  // On USDⓈ-M these hold only the MARKET trades: what the futures REST lists (and its klines count).
  const histories = new Map(config.symbols.map((symbol) => [symbol, new TradeHistory(config.history)]));
  const aggregates = new Map(config.symbols.map((symbol) => [symbol, new TradeHistory<AggTrade>(config.history)]));
  const nextAggIds = new Map(config.symbols.map((symbol) => [symbol, config.startId]));
  const symbolReports = new Map(config.symbols.map((symbol) => [symbol, emptySymbolReport(futures)]));
  const faultCounts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const hasFaults = Object.values(config.faults).some((rate) => rate !== undefined && rate > 0);
  const connections = new Set<StreamConnection>();
  const counters = { trades: 0, prefilled: 0, connectionsTotal: 0, rejectedLines: 0, replayFinished: false };
  const restContext: FuturesRestContext = {
    histories,
    aggregates,
    limiter: new WeightLimiter(config.weightLimit),
    nowMs: () => Date.now(),
    counters: { requests: 0, throttled: 0 },
  };
  const stop = new AbortController();
  const timers: ReturnType<typeof setTimeout>[] = [];
  let finish!: (reason: StopReason) => void;
  const done = new Promise<StopReason>((resolve) => finish = resolve);
  // Set by POST /admin/halt: no new trades, while streams, pings and REST go on (the demo's closing bell).
  let halted = false;
  let firstClient!: () => void;
  const clientArrived = new Promise<void>((resolve) => firstClient = resolve);
  if (!config.waitForClient) firstClient();

  function publish(trades: Trade[]): void {
    if (trades.length === 0) return;
    for (const trade of trades) {
      const report = symbolReports.get(trade.symbol)!;
      if (!futures) {
        histories.get(trade.symbol)!.append(trade);
      } else if (isMarketTrade(trade)) {
        histories.get(trade.symbol)!.append(trade);
        const aggs = aggregates.get(trade.symbol)!;
        const started = aggregate(aggs.at(aggs.size - 1), trade, nextAggIds.get(trade.symbol)!);
        if (started !== undefined) {
          aggs.append(started);
          nextAggIds.set(trade.symbol, started.id + 1);
        }
      } else {
        report.nonMarketCount!++;
        report.nonMarketIds!.push(trade.id);
      }
      report.firstId ??= trade.id;
      report.lastId = trade.id;
      report.count++;
    }
    counters.trades += trades.length;
    const encoded = trades.map((trade) => new EncodedTrade(trade));
    for (const connection of connections) connection.enqueue(encoded);
  }

  function stats(): ExchangeReport {
    const report: ExchangeReport = {
      ...(futures ? { market: "usdm" as const } : {}),
      symbols: Object.fromEntries([...symbolReports].map(([symbol, value]) => [symbol, copySymbolReport(value)])),
      trades: counters.trades,
      prefilled: counters.prefilled,
      faults: { ...faultCounts },
      connections: { open: connections.size, total: counters.connectionsTotal },
      rest: { ...restContext.counters },
      archive: archive.report(),
    };
    if (config.replay) report.replay = { rejectedLines: counters.rejectedLines, finished: counters.replayFinished };
    return report;
  }

  /** Once nothing more will be generated: with exitAfterMax, finish when every client has been sent everything. */
  async function generationFinished(reason: StopReason): Promise<void> {
    if (!config.exitAfterMax) return;
    const deadline = performance.now() + 10_000;
    while (!stop.signal.aborted && [...connections].some((c) => !c.drained) && performance.now() < deadline) {
      await sleep(20, stop.signal);
    }
    finish(reason);
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: config.port, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/admin/")) return admin(request, url);
    if (url.pathname.startsWith("/data/")) return archive.handle(request, url);
    if (futures) {
      // USDⓈ-M routes `@trade` to the `/public` base since the 2026 split; the unrouted paths are kept for old clients.
      if (url.pathname.startsWith("/public/")) url.pathname = url.pathname.slice("/public".length);
      if (url.pathname.startsWith("/ws/") || url.pathname === "/stream") return openStream(request, url);
      if (url.pathname.startsWith("/fapi/")) return handleFuturesRest(request, restContext);
      return text(
        404,
        `Cannot find ${url.pathname}: expected /public/stream?streams=…, /public/ws/…, /fapi/v1/…, ` +
          "/data/futures/um/… or /admin/… (this exchange serves usdm)",
      );
    }
    if (url.pathname.startsWith("/ws/") || url.pathname === "/stream") return openStream(request, url);
    if (url.pathname.startsWith("/api/")) return handleRest(request, restContext);
    return text(404, `Cannot find ${url.pathname}: expected /ws/…, /stream?streams=…, /api/v3/…, /data/… or /admin/…`);
  });

  function openStream(request: Request, url: URL): Response {
    let subscription;
    try {
      subscription = parseSubscription(url, served);
    } catch (error) {
      return text(400, (error as Error).message);
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text(400, "Cannot open a stream: expected a WebSocket upgrade request");
    }
    if (stop.signal.aborted) return text(503, "Cannot open a stream: the exchange is shutting down");
    const index = counters.connectionsTotal++;
    // idleTimeout pings after idleTimeout/2 without a frame from the client, and closes (1001) if nothing comes back
    // within another idleTimeout/2: so twice the ping interval gives "ping every N s, drop after N s without pong".
    const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: config.pingIntervalSeconds * 2 });
    const injector = hasFaults
      ? new FaultInjector(config.faults, mulberry32(deriveSeed(config.seed, index)), {
        combined: subscription.combined,
        unit: subscription.unit,
        subscribed: new Set(subscription.symbols),
        otherSymbols: config.symbols,
      })
      : undefined;
    const connection = new StreamConnection(socket, {
      subscription,
      injector,
      stallMs: config.stallMs,
      maxAgeMs: config.maxAgeSeconds * 1000,
      shutdownNoticeMs: config.shutdownNoticeSeconds * 1000,
      countFault: (kind) => faultCounts[kind]++,
      onClose: () => connections.delete(connection),
    });
    connections.add(connection);
    firstClient();
    return response;
  }

  function admin(request: Request, url: URL): Response {
    const route = `${request.method} ${url.pathname}`;
    if (route === "GET /admin/stats") return Response.json(stats());
    if (route === "POST /admin/disconnect") return Response.json({ disconnected: disconnectAll() });
    if (route === "POST /admin/halt") {
      halted = true;
      return Response.json(stats());
    }
    if (route === "POST /admin/stall") {
      const raw = url.searchParams.get("ms");
      const ms = raw === null ? config.stallMs : /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
      if (!(ms >= 1)) return text(400, `Cannot stall for ms="${raw}": expected a whole number of milliseconds above 0`);
      return Response.json({ stalled: stallAll(ms), ms });
    }
    if (url.pathname === "/admin/archive-fault") return archiveFault(request.method, url.searchParams);
    return text(
      404,
      `Cannot find ${route}: expected GET /admin/stats, POST /admin/disconnect, POST /admin/halt, ` +
        "POST /admin/stall?ms=N, GET /admin/archive-fault, POST /admin/archive-fault?kind=K&date=D or " +
        "DELETE /admin/archive-fault?date=D",
    );
  }

  /** Sets or clears an archive fault at run time; answers with the faults now in force. */
  function archiveFault(method: string, params: URLSearchParams): Response {
    const date = params.get("date");
    const kind = params.get("kind");
    if (method === "GET") return Response.json({ faults: archive.faults() });
    if (method !== "POST" && method !== "DELETE") {
      return text(405, `Cannot ${method} /admin/archive-fault: expected GET, POST or DELETE`);
    }
    if (method === "DELETE" && date === null) {
      for (const key of Object.keys(archive.faults())) archive.setFault(key, undefined);
      return Response.json({ faults: archive.faults() });
    }
    if (date === null || !isArchiveFaultDate(date)) {
      return text(400, `Cannot set archive fault for date="${date}": expected YYYY-MM-DD, YYYY-MM or *`);
    }
    if (method === "DELETE" || kind === "none") {
      archive.setFault(date, undefined);
    } else if (kind !== null && isArchiveFaultKind(kind)) {
      archive.setFault(date, kind);
    } else {
      return text(
        400,
        `Cannot set archive fault kind="${kind}": expected none, wrong_checksum, not_found, truncated, slow or drop`,
      );
    }
    return Response.json({ faults: archive.faults() });
  }

  function disconnectAll(): number {
    const count = connections.size;
    for (const connection of connections) connection.close(1001, "Disconnected by the admin endpoint");
    return count;
  }

  function stallAll(ms: number): number {
    for (const connection of connections) connection.stall(ms);
    return connections.size;
  }

  let generation: Promise<void>;
  if (config.replay) {
    const replay = config.replay;
    generation = clientArrived.then(() =>
      replayCsv(replay, {
        publish,
        signal: stop.signal,
        maxTrades: config.maxTrades ?? Infinity,
        clientsBehind: () => [...connections].some((c) => c.pending > REPLAY_QUEUE_LIMIT),
        onBadLine: (line) => {
          if (++counters.rejectedLines <= LOGGED_BAD_LINES) log(line);
        },
      })
    ).then(async () => {
      counters.replayFinished = !stop.signal.aborted;
      if (counters.replayFinished) await generationFinished("replay-finished");
    });
  } else {
    generation = Promise.resolve();
    const market = createMarket({
      symbols: config.symbols,
      seed: config.seed,
      startId: config.startId,
      market: config.market,
      nonMarketRate: config.nonMarketRate,
    });
    prefill(market);
    let startedMs = performance.now();
    let lastUs = nowUs();
    let generating = !config.waitForClient;
    void clientArrived.then(() => {
      if (generating) return;
      generating = true;
      startedMs = performance.now();
      lastUs = nowUs();
    });
    const tick = setInterval(() => {
      if (!generating || halted) return;
      const live = counters.trades - counters.prefilled;
      const due = tradesDue(config, (performance.now() - startedMs) / 1000, live);
      if (due > 0) {
        const now = Math.max(nowUs(), lastUs);
        publish(nextTrades(market, Math.min(due, MAX_TRADES_PER_TICK), lastUs, now));
        lastUs = now;
      }
      if (counters.trades - counters.prefilled >= (config.maxTrades ?? Infinity)) {
        clearInterval(tick);
        void generationFinished("max-trades");
      }
    }, TICK_MS);
    timers.push(tick);
  }

  /** The trades of the `prefillMinutes` before now at `rate`, times spread evenly over that window. */
  function prefill(market: Market): void {
    const count = Math.round(config.prefillMinutes * 60 * config.rate);
    const toUs = nowUs();
    const stepUs = (config.prefillMinutes * 60_000_000) / count;
    for (let done = 0; done < count; done += PREFILL_BATCH) {
      const batch: Trade[] = [];
      for (let i = done + 1; i <= Math.min(count, done + PREFILL_BATCH); i++) {
        const timeUs = toUs - Math.ceil((count - i) * stepUs);
        batch.push(market.next(timeUs, timeUs));
      }
      publish(batch);
      archive.addPrefilled(batch);
      counters.prefilled += batch.length;
    }
  }

  if (config.durationSeconds !== undefined) {
    timers.push(setTimeout(() => finish("duration"), config.durationSeconds * 1000));
  }
  if (config.progressSeconds > 0) {
    let lastTrades = 0;
    timers.push(setInterval(() => {
      const perSecond = (counters.trades - lastTrades) / config.progressSeconds;
      lastTrades = counters.trades;
      log(
        `exchange: ${perSecond.toFixed(1)} trades/s, ${connections.size} connections open, ` +
          `${counters.trades} trades in total`,
      );
    }, config.progressSeconds * 1000));
  }

  let stopping: Promise<void> | undefined;
  return {
    hostname: "127.0.0.1",
    port: server.addr.port,
    symbols: config.symbols,
    stats,
    done,
    disconnectAll,
    stallAll,
    shutdown() {
      stopping ??= (async () => {
        stop.abort();
        const archiveClosed = archive.close(); // ends stalled archive bodies, which would hold the server open
        timers.forEach((timer) => clearTimeout(timer));
        const closing = [...connections].map((connection) => connection.closed);
        for (const connection of connections) connection.close(1001, "Server shutting down");
        const grace = new AbortController();
        await Promise.race([Promise.all(closing), sleep(CLOSE_GRACE_MS, grace.signal)]);
        grace.abort();
        await generation.catch(() => {});
        await server.shutdown();
        await archiveClosed;
      })();
      return stopping;
    },
  };
}

/** Before the first trade; spot's report has no non-market fields, so it reads as it always did. */
function emptySymbolReport(futures: boolean): SymbolReport {
  const report: SymbolReport = { firstId: null, lastId: null, count: 0 };
  if (futures) Object.assign(report, { nonMarketCount: 0, nonMarketIds: [] });
  return report;
}

function copySymbolReport(report: SymbolReport): SymbolReport {
  return report.nonMarketIds ? { ...report, nonMarketIds: [...report.nonMarketIds] } : { ...report };
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain;charset=UTF-8" } });
}
