/**
 * One WebSocket client: a queue of trades, sent in order with backpressure, faults and the connection's life cycle
 * (shutdown notice, maximum age, forced close).
 */
import { marketTradeEventJson, serverShutdownJson, type TimeUnit, tradeStreamName } from "./encode.ts";
import type { FaultInjector, FaultKind } from "./faults.ts";
import type { Trade } from "./market.ts";
import type { Subscription } from "./streams.ts";

/** A trade serialised at most once per time unit, the same string reused for every subscriber. */
export class EncodedTrade {
  readonly trade: Trade;
  #ms: string | undefined;
  #us: string | undefined;

  constructor(trade: Trade) {
    this.trade = trade;
  }

  /** The bare `<symbol>@trade` payload. */
  json(unit: TimeUnit): string {
    if (unit === "us") return this.#us ??= marketTradeEventJson(this.trade, "us");
    return this.#ms ??= marketTradeEventJson(this.trade, "ms");
  }
}

/** Wait while the socket holds more than this unsent: a slow client slows its own queue, nobody else's. */
const HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** Let timers, pings and other clients run at least this often while a long queue drains. */
const YIELD_EVERY_FRAMES = 500;
/** A client this far behind will never catch up: cut it, as Binance cuts slow consumers. */
const MAX_QUEUED_TRADES = 2_000_000;
/** Close code of an injected `drop`: reserved for "abnormal closure", so clients fail the connection on it. */
const DROP_CLOSE_CODE = 1006;

/** How a connection behaves. */
export interface StreamConnectionOptions {
  subscription: Subscription;
  /** Absent when no faults are configured. */
  injector: FaultInjector | undefined;
  stallMs: number;
  maxAgeMs: number;
  shutdownNoticeMs: number;
  countFault(kind: FaultKind): void;
  onClose(): void;
}

/** Sends one client the trades of its symbols, generated after it connected, in id order. */
export class StreamConnection {
  readonly symbols: ReadonlySet<string>;
  /** Resolves once the socket is closed, whoever closed it. */
  readonly closed: Promise<void>;
  #socket: WebSocket;
  #options: StreamConnectionOptions;
  #prefixes: Map<string, string>;
  #queue: EncodedTrade[] = [];
  #head = 0;
  #pumping = false;
  #stalledUntilMs = 0;
  #isClosed = false;
  #timers: ReturnType<typeof setTimeout>[] = [];

  constructor(socket: WebSocket, options: StreamConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.symbols = new Set(options.subscription.symbols);
    // Combined frames are the bare payload inside a fixed prefix: concatenating beats re-serialising.
    this.#prefixes = new Map(
      options.subscription.symbols.map((symbol) => [symbol, `{"stream":"${tradeStreamName(symbol)}","data":`]),
    );
    let markClosed!: () => void;
    this.closed = new Promise((resolve) => markClosed = resolve);
    const onClose = () => {
      if (this.#isClosed) return; // Deno may report the close twice after a ping timeout
      this.#isClosed = true;
      this.#timers.forEach(clearTimeout);
      this.#queue = [];
      this.#head = 0;
      options.onClose();
      markClosed();
    };
    socket.addEventListener("close", onClose);
    // Trades generated between the upgrade and the open event wait in the queue.
    socket.addEventListener("open", () => void this.#pump());
    const noticeMs = Math.max(0, options.maxAgeMs - options.shutdownNoticeMs);
    this.#timers.push(
      setTimeout(() => this.#sendRaw(serverShutdownJson(options.subscription.unit, nowUs())), noticeMs),
      setTimeout(() => this.close(1001, "Connection reached its maximum age"), options.maxAgeMs),
    );
  }

  /** Trades queued but not yet handed to the socket. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether everything queued has left the process (or the connection is gone). */
  get drained(): boolean {
    return this.#isClosed || (this.pending === 0 && this.#socket.bufferedAmount === 0);
  }

  /** Queues the trades of subscribed symbols; a stalled connection loses them, as a real stall would. */
  enqueue(trades: readonly EncodedTrade[]): void {
    if (this.#isClosed || performance.now() < this.#stalledUntilMs) return;
    for (const trade of trades) if (this.symbols.has(trade.trade.symbol)) this.#queue.push(trade);
    if (this.pending > MAX_QUEUED_TRADES) {
      this.close(1008, "Client too slow: too many trades queued");
      return;
    }
    void this.#pump();
  }

  /** Sends nothing for `ms`; trades generated meanwhile are never sent to this client. */
  stall(ms: number): void {
    this.#stalledUntilMs = performance.now() + ms;
    this.#queue = [];
    this.#head = 0;
  }

  /** Closes the connection (no-op when already closed). */
  close(code: number, reason: string): void {
    if (this.#isClosed || this.#socket.readyState >= WebSocket.CLOSING) return;
    if (this.#socket.readyState === WebSocket.CONNECTING) {
      this.#socket.addEventListener("open", () => this.close(code, reason), { once: true });
      return;
    }
    try {
      this.#socket.close(code, reason);
    } catch {
      this.#socket.close(1011, reason); // a runtime refusing the reserved code still gets the connection cut
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      let sinceYield = 0;
      while (this.pending > 0 && !this.#isClosed && this.#socket.readyState === WebSocket.OPEN) {
        if (this.#socket.bufferedAmount > HIGH_WATER_BYTES) {
          await delay(5);
          continue;
        }
        const trade = this.#queue[this.#head++]!;
        this.#deliver(trade, this.pending > 0);
        if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        if (++sinceYield >= YIELD_EVERY_FRAMES) {
          sinceYield = 0;
          await delay(0);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #deliver(encoded: EncodedTrade, hasNext: boolean): void {
    const { subscription, injector } = this.#options;
    const payload = encoded.json(subscription.unit);
    const frame = subscription.combined ? `${this.#prefixes.get(encoded.trade.symbol)}${payload}}` : payload;
    if (injector === undefined) {
      this.#sendRaw(frame);
      return;
    }
    for (const delivery of injector.deliver(encoded.trade, frame, hasNext)) {
      if (this.#isClosed || this.#socket.readyState !== WebSocket.OPEN) return;
      if (delivery.fault !== undefined) this.#options.countFault(delivery.fault);
      if (delivery.action === "send") this.#sendRaw(delivery.frame);
      else if (delivery.action === "stall") this.stall(this.#options.stallMs);
      else this.close(DROP_CLOSE_CODE, "Injected fault: drop");
    }
  }

  #sendRaw(frame: string): void {
    if (!this.#isClosed && this.#socket.readyState === WebSocket.OPEN) this.#socket.send(frame);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wall-clock microseconds, with the sub-millisecond part from the monotonic clock. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
