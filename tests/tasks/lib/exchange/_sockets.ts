/** WebSocket helpers for exchange tests: collect frames, wait for the close. */

/** An open client socket and everything it received. */
export interface Client {
  socket: WebSocket;
  frames: string[];
  closed: Promise<CloseEvent>;
}

/** Connects and resolves once the socket is open. */
export async function connect(url: string): Promise<Client> {
  const socket = new WebSocket(url);
  const frames: string[] = [];
  socket.onmessage = (event) => frames.push(event.data as string);
  const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = (event) => reject(new Error(`Cannot connect to ${url}: ${(event as ErrorEvent).message}`));
  });
  return { socket, frames, closed };
}

/** Closes the socket (if still open) and waits for the close event. */
export async function disconnect(client: Client): Promise<CloseEvent> {
  if (client.socket.readyState === WebSocket.OPEN) client.socket.close();
  return await client.closed;
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await delay(10);
  }
}

/** The shape of a valid trade event, as a strict client checks it. */
export interface TradeEvent {
  e: "trade";
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
  M: true;
}

const DECIMAL = /^\d+\.\d{8}$/;

/** The trade in a frame if the frame is exactly a valid trade of a subscribed symbol, else undefined. */
export function validTrade(frame: string, subscribed: ReadonlySet<string>, combined: boolean): TradeEvent | undefined {
  let message: unknown;
  try {
    message = JSON.parse(frame);
  } catch {
    return undefined;
  }
  let data = message as Record<string, unknown>;
  if (combined) {
    const wrapper = message as { stream?: unknown; data?: Record<string, unknown> };
    if (Object.keys(wrapper).join() !== "stream,data" || typeof wrapper.data !== "object") return undefined;
    if (wrapper.stream !== `${String(wrapper.data?.s).toLowerCase()}@trade`) return undefined;
    data = wrapper.data!;
  }
  const ok = Object.keys(data).join() === "e,E,s,t,p,q,T,m,M" && data.e === "trade" &&
    Number.isSafeInteger(data.E) && typeof data.s === "string" && subscribed.has(data.s) &&
    Number.isSafeInteger(data.t) && typeof data.p === "string" && DECIMAL.test(data.p) && Number(data.p) > 0 &&
    typeof data.q === "string" && DECIMAL.test(data.q) && Number(data.q) > 0 && Number.isSafeInteger(data.T) &&
    typeof data.m === "boolean" && data.M === true;
  return ok ? data as unknown as TradeEvent : undefined;
}
