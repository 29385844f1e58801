/**
 * A hostile network between the producer and the local exchange: it relays the exchange's WebSocket stream frame
 * by frame, written by hand on the TCP socket, and slips in any frame a test asks for, including what no WebSocket
 * server library would send (text frames that are not UTF-8, frames of many megabytes).
 */

/** A frame to slip in: text, raw bytes sent as a text frame (need not be UTF-8), or a binary frame. */
export type RawFrame = { text: string } | { textBytes: Uint8Array } | { binary: Uint8Array };

/** A running relay. */
export interface Relay {
  /** The base URL to give the producer instead of the exchange's. */
  readonly url: string;
  /** Sends `frames` on every open connection, after what was relayed so far; returns how many connections. */
  inject(frames: readonly RawFrame[]): Promise<number>;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;

/** Starts a relay on 127.0.0.1 in front of the exchange at `upstream` (`ws://127.0.0.1:PORT`). */
export function startRelay(upstream: string): Relay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Connection>();
  let accepted = 0;
  const serving = (async () => {
    for await (const socket of listener) {
      accepted++;
      void relay(socket, upstream, open).catch(() => {});
    }
  })().catch(() => {});
  return {
    url: `ws://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get accepted() {
      return accepted;
    },
    async inject(frames) {
      const connections = [...open];
      await Promise.all(connections.map((c) => Promise.all(frames.map((frame) => c.write(encodeFrame(frame))))));
      return connections.length;
    },
    async close() {
      listener.close();
      for (const connection of open) connection.close();
      await serving;
    },
  };
}

interface Connection {
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
}

async function relay(socket: Deno.Conn, upstream: string, open: Set<Connection>): Promise<void> {
  const request = await readRequestHead(socket);
  const path = /^GET (\S+) HTTP/.exec(request)?.[1];
  const key = /^sec-websocket-key:\s*(\S+)/im.exec(request)?.[1];
  if (path === undefined || key === undefined) return socket.close();
  await writeAll(
    socket,
    new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
    ),
  );

  let closed = false;
  let writing = Promise.resolve();
  const exchange = new WebSocket(`${upstream}${path}`);
  const connection: Connection = {
    // Frames leave in the order they were asked for, each one whole.
    write(bytes) {
      writing = writing.then(() => closed ? undefined : writeAll(socket, bytes)).catch(() => connection.close());
      return writing;
    },
    close() {
      if (closed) return;
      closed = true;
      open.delete(connection);
      exchange.close();
      try {
        socket.close();
      } catch {
        // already closed by the peer
      }
    },
  };
  exchange.binaryType = "arraybuffer";
  exchange.onopen = () => open.add(connection);
  exchange.onmessage = (event: MessageEvent<string | ArrayBuffer>) =>
    void connection.write(
      encodeFrame(typeof event.data === "string" ? { text: event.data } : { binary: new Uint8Array(event.data) }),
    );
  exchange.onclose = () => {
    void connection.write(frame(CLOSE, new Uint8Array([0x03, 0xe9]))).then(() => connection.close()); // 1001
  };
  // The producer only ever sends a close frame (nobody here pings it): a close or the end of the stream ends both.
  const buffer = new Uint8Array(4096);
  while (!closed) {
    const n = await socket.read(buffer).catch(() => null);
    if (n === null || (buffer[0]! & 0x0f) === CLOSE) break;
  }
  connection.close();
}

function encodeFrame(raw: RawFrame): Uint8Array {
  if ("text" in raw) return frame(TEXT, new TextEncoder().encode(raw.text));
  if ("textBytes" in raw) return frame(TEXT, raw.textBytes);
  return frame(BINARY, raw.binary);
}

/** One unmasked, unfragmented server frame (RFC 6455 §5.2). */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const bytes = new Uint8Array(head + length);
  bytes[0] = 0x80 | opcode;
  if (length < 126) {
    bytes[1] = length;
  } else if (length < 65_536) {
    bytes[1] = 126;
    new DataView(bytes.buffer).setUint16(2, length);
  } else {
    bytes[1] = 127;
    new DataView(bytes.buffer).setBigUint64(2, BigInt(length));
  }
  bytes.set(payload, head);
  return bytes;
}

async function readRequestHead(socket: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await socket.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    text = new TextDecoder().decode(concat(chunks));
  }
  return text;
}

async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

async function writeAll(socket: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) written += await socket.write(bytes.subarray(written));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
