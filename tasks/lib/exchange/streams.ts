/** Which trades a WebSocket URL asks for: raw `/ws/<symbol>@trade` or combined `/stream?streams=a@trade/b@trade`. */
import type { TimeUnit } from "./encode.ts";

/** What one connection receives. */
export interface Subscription {
  /** Upper-case symbols, without repeats. */
  symbols: string[];
  /** Combined streams wrap every payload as `{"stream":…,"data":…}`. */
  combined: boolean;
  unit: TimeUnit;
}

/** Binance's limit of streams on one connection. */
export const MAX_STREAMS = 1024;

/**
 * Reads the subscription from a WebSocket URL.
 *
 * @throws {RangeError} When the path is neither form, a stream is malformed or names a symbol not served, or
 * `timeUnit` is not MILLISECOND or MICROSECOND; the message is what the client sees with HTTP 400.
 */
export function parseSubscription(url: URL, served: ReadonlySet<string>): Subscription {
  const unit = parseTimeUnit(url.searchParams.get("timeUnit"));
  if (url.pathname.startsWith("/ws/")) {
    return { symbols: [streamSymbol(decodeURIComponent(url.pathname.slice(4)), served)], combined: false, unit };
  }
  if (url.pathname === "/stream") {
    const streams = (url.searchParams.get("streams") ?? "").split("/").filter((s) => s !== "");
    if (streams.length === 0) {
      throw new RangeError("Cannot subscribe: expected /stream?streams=<symbol>@trade/<symbol>@trade");
    }
    if (streams.length > MAX_STREAMS) {
      throw new RangeError(`Cannot subscribe to ${streams.length} streams: at most ${MAX_STREAMS} per connection`);
    }
    return { symbols: [...new Set(streams.map((stream) => streamSymbol(stream, served)))], combined: true, unit };
  }
  throw new RangeError(`Cannot subscribe at "${url.pathname}": expected /ws/<symbol>@trade or /stream?streams=…`);
}

/** `MICROSECOND` (any case) → µs, `MILLISECOND` or nothing → ms. */
export function parseTimeUnit(value: string | null): TimeUnit {
  if (value === null || value.toUpperCase() === "MILLISECOND") return "ms";
  if (value.toUpperCase() === "MICROSECOND") return "us";
  throw new RangeError(`Cannot use timeUnit "${value}": expected MILLISECOND or MICROSECOND`);
}

function streamSymbol(stream: string, served: ReadonlySet<string>): string {
  const match = /^([a-z0-9]{2,20})@trade$/.exec(stream);
  if (!match) {
    throw new RangeError(`Cannot subscribe to stream "${stream}": expected <symbol>@trade with a lower-case symbol`);
  }
  const symbol = match[1]!.toUpperCase();
  if (!served.has(symbol)) {
    throw new RangeError(
      `Cannot subscribe to stream "${stream}": symbol not served, expected one of ${
        [...served].map((s) => s.toLowerCase()).join(", ")
      }`,
    );
  }
  return symbol;
}
