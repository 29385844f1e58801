/**
 * Keeps one combined trade stream open for a set of symbols, through anything the exchange does to it.
 *
 * - Reconnects with capped, jittered backoff inside the exchange's connection budget.
 * - Treats a silent connection as dead after `staleAfterMs` and replaces it.
 * - Rotates before the exchange's 24 h cut and on its shutdown notice: the new connection opens while the old one
 *   still delivers, and the old one closes only once the new one has delivered, so nothing falls in between.
 *   The overlap repeats some trades; the gap tracker drops them by trade id.
 *
 * Subscriptions are in the URL, so the client never sends a message (the exchange allows 5 per second). Deno's
 * WebSocket answers the server's pings itself.
 */
import { backoffDelayMs, ConnectionBudget } from "./backoff.ts";

/** Stream settings. */
export interface StreamOptions {
  /** Base URL such as `wss://stream.binance.com:9443`. */
  wsUrl: URL;
  symbols: string[];
  /** No frame for this long means the connection is dead. Default: 30 s. */
  staleAfterMs?: number;
  /** Rotate a connection at this age. Default: 23 h 50 min (the exchange cuts at 24 h). */
  maxAgeMs?: number;
  /** Called for every frame, text or binary, with the time it arrived. */
  onFrame: (frame: string | ArrayBuffer, receivedAtMs: number) => void;
  /** Called when a connection opens (first, reconnect or rotation). */
  onOpen?: () => void;
  /** One-line notices: connects, drops, rotations. */
  log?: (line: string) => void;
  budget?: ConnectionBudget;
  random?: () => number;
}

/** The combined-stream URL for `symbols` on the exchange at `base`. */
export function streamUrl(base: URL, symbols: string[]): URL {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/stream`;
  url.search = "";
  // Binance takes the stream list unescaped: `streams=btcusdt@trade/ethusdt@trade`.
  return new URL(`${url.href}?streams=${symbols.map((s) => `${s.toLowerCase()}@trade`).join("/")}`);
}

/** A supervised combined stream. */
export class ExchangeStream {
  #current: WebSocket | undefined;
  #successor: WebSocket | undefined;
  #stopped = false;
  #attempt = 0;
  #lastFrameAt = Date.now();
  #openedAt = 0;
  #timers: ReturnType<typeof setInterval>[] = [];
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #budget: ConnectionBudget;
  #random: () => number;
  #log: (line: string) => void;
  /** Counters for progress lines and metrics. */
  readonly stats = { connects: 0, reconnects: 0, rotations: 0, staleDrops: 0 };

  constructor(private readonly options: StreamOptions) {
    this.#budget = options.budget ?? new ConnectionBudget();
    this.#random = options.random ?? Math.random;
    this.#log = options.log ?? (() => {});
  }

  /** Opens the first connection and starts the watchdog. */
  start(): void {
    const staleAfterMs = this.options.staleAfterMs ?? 30_000;
    const maxAgeMs = this.options.maxAgeMs ?? 85_800_000;
    this.#timers.push(setInterval(() => {
      const now = Date.now();
      if (this.#current?.readyState === WebSocket.OPEN && now - this.#lastFrameAt > staleAfterMs) {
        this.stats.staleDrops++;
        this.#log(`no frame for ${Math.round((now - this.#lastFrameAt) / 1000)} s: replacing the connection`);
        this.#drop(this.#current);
      }
      if (this.#current?.readyState === WebSocket.OPEN && !this.#successor && now - this.#openedAt > maxAgeMs) {
        this.rotate("connection reached its maximum age");
      }
    }, Math.min(1000, staleAfterMs / 2)));
    this.#connect();
  }

  /** Opens a successor connection; the current one closes once the successor delivers. */
  rotate(reason: string): void {
    if (this.#stopped || this.#successor) return;
    this.stats.rotations++;
    this.#log(`rotating: ${reason}`);
    this.#successor = this.#open(true);
  }

  /** Closes everything; no reconnects after this. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#reconnectTimer);
    for (const socket of [this.#current, this.#successor]) socket?.close(1000, "client shutting down");
  }

  #connect(): void {
    if (this.#stopped) return;
    const wait = this.#budget.waitMs(Date.now());
    if (wait > 0) {
      this.#log(`connection budget spent: waiting ${Math.ceil(wait / 1000)} s before reconnecting`);
      this.#reconnectTimer = setTimeout(() => this.#connect(), wait);
      return;
    }
    this.#current = this.#open(false);
  }

  #open(asSuccessor: boolean): WebSocket {
    this.#budget.record(Date.now());
    const socket = new WebSocket(streamUrl(this.options.wsUrl, this.options.symbols));
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.stats.connects++;
      if (!asSuccessor) {
        this.#attempt = 0;
        this.#openedAt = Date.now();
        this.#lastFrameAt = Date.now();
      }
      this.#log(`connected to ${this.options.wsUrl.host} for ${this.options.symbols.length} symbols`);
      this.options.onOpen?.();
    };
    socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      if (this.#stopped) return; // frames still buffered at shutdown: the next run's catch-up heals them
      const now = Date.now();
      if (socket === this.#successor) this.#promote(socket);
      if (socket !== this.#current && socket !== this.#successor) return; // a retiring connection's last frames
      this.#lastFrameAt = now;
      this.options.onFrame(event.data, now);
    };
    socket.onerror = () => {}; // the close event that follows says what happened
    socket.onclose = (event) => {
      if (socket === this.#successor) {
        this.#successor = undefined; // the current connection keeps going; rotation is retried by the watchdog
        return;
      }
      if (socket !== this.#current || this.#stopped) return;
      this.#lost(`disconnected (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`);
    };
    return socket;
  }

  /** The current connection is gone: schedule the next one. */
  #lost(why: string): void {
    this.#current = undefined;
    const delay = backoffDelayMs(this.#attempt++, this.#random);
    this.stats.reconnects++;
    this.#log(`${why}; reconnecting in ${delay} ms`);
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  /** The successor delivered: it becomes current and the old connection retires. */
  #promote(successor: WebSocket): void {
    const retiring = this.#current;
    this.#current = successor;
    this.#successor = undefined;
    this.#openedAt = Date.now();
    this.#attempt = 0;
    retiring?.close(1000, "rotated");
  }

  #drop(socket: WebSocket): void {
    // Reconnect now rather than from onclose: a dead peer may never finish the closing handshake.
    socket.close(4000, "stale");
    if (socket === this.#current) this.#lost("dropped a stale connection");
  }
}
