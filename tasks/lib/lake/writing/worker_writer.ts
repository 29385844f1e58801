/**
 * The consumer's side of the lake worker (lake_worker.ts): a {@link RowWriter} of raw Kafka records. Decoding and
 * writing happen on the worker's thread; this thread sends the dead letters, then publishes the files (asking
 * `mayPublish` and renaming in one turn of its own event loop, where rebalances are announced), and the sink
 * commits.
 *
 * A worker that dies is replaced at the next write; the write it was doing fails and is retried from its offsets.
 */
import type { DeadLetter } from "../decoding/decode.ts";
import type { WrittenFile } from "../storage/durable.ts";
import type { PreparedFlush, RowWriter, Written } from "./lake_sink.ts";
import { type PackedRecords, packRecords, type RawRecord, transferablesOf } from "../decoding/packed_records.ts";
import { publishAll, removeTemporaries } from "./parquet_writer.ts";
import type { Market } from "../../market.ts";

/** What the consumer's thread asks of the worker. */
export type WorkerRequest =
  | { type: "open"; id: number; lakeDir: string }
  | { type: "write"; id: number; kafkaPartition: number; writtenAtMs: number; market: Market; records: PackedRecords }
  | { type: "close"; id: number };

/** What the worker answers, one reply per request. */
export type WorkerReply =
  | { type: "opened"; id: number; lakeDir: string }
  | {
    type: "written";
    id: number;
    files: WrittenFile[];
    rows: number;
    deadLetters: DeadLetter[];
    lastTradeUs: number;
  }
  | { type: "closed"; id: number }
  | { type: "failed"; id: number; message: string };

/** What the consumer does with what a flush found. */
export interface FlushHandlers {
  /** Sends one undecodable record to the DLQ; resolves once the DLQ topic has it. */
  deadLetter(kafkaPartition: number, letter: DeadLetter): Promise<void>;
  /** The latest trade time a flush wrote (µs), for the lag in seconds. */
  wroteUpTo?(tradeTimeUs: number): void;
}

/** Writes raw trade records into the lake through a worker thread. */
export class LakeWorkerWriter implements RowWriter<RawRecord> {
  #worker: Worker | undefined;
  #starting: Promise<void> | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>();

  private constructor(
    private lakeRoot: string,
    private readonly handlers: FlushHandlers,
    private readonly market: Market,
  ) {}

  /**
   * Starts the worker, which opens DuckDB confined to `lakeDir` (created if missing): the dataset of `market`, whose
   * records alone become rows (others are dead letters).
   */
  static async open(lakeDir: string, handlers: FlushHandlers, market: Market = "spot"): Promise<LakeWorkerWriter> {
    // Here first, so a lake outside this task's permissions stops it with Deno's own error, before any thread starts.
    await Deno.mkdir(lakeDir, { recursive: true });
    const writer = new LakeWorkerWriter(await Deno.realPath(lakeDir), handlers, market);
    await writer.#ensureWorker();
    return writer;
  }

  /** The lake folder, as a real path. */
  get lakeDir(): string {
    return this.lakeRoot;
  }

  async write(
    records: RawRecord[],
    kafkaPartition: number,
    firstOffset: bigint,
    writtenAtMs: number,
    mayPublish: () => boolean,
  ): Promise<Written> {
    const prepared = await this.prepare(records, kafkaPartition, firstOffset, writtenAtMs);
    return await prepared.publish(mayPublish);
  }

  /**
   * Has the worker decode `records` and write their files under temporary names, named after the first trade's
   * offset (the first record may be one for the DLQ), so `firstOffset` is not needed.
   */
  async prepare(
    records: RawRecord[],
    kafkaPartition: number,
    _firstOffset: bigint,
    writtenAtMs: number,
  ): Promise<PreparedFlush> {
    const packed = packRecords(records);
    const reply = await this.#ask({
      type: "write",
      id: 0,
      kafkaPartition,
      writtenAtMs,
      market: this.market,
      records: packed,
    });
    if (reply.type !== "written") throw new Error(`The lake worker answered ${reply.type} to a write`);
    return {
      publish: async (mayPublish) => {
        try {
          for (const letter of reply.deadLetters) await this.handlers.deadLetter(kafkaPartition, letter);
        } catch (error) {
          await removeTemporaries(reply.files);
          throw error;
        }
        const files = await publishAll(reply.files, kafkaPartition, mayPublish);
        if (reply.lastTradeUs > 0) this.handlers.wroteUpTo?.(reply.lastTradeUs);
        return { files, rows: reply.rows };
      },
      discard: () => removeTemporaries(reply.files),
    };
  }

  /** Closes DuckDB in the worker and stops it. */
  async close(): Promise<void> {
    if (this.#worker === undefined) return;
    await this.#ask({ type: "close", id: 0 }).catch(() => {});
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  async #ask(request: WorkerRequest): Promise<WorkerReply> {
    await this.#ensureWorker();
    return await this.#send(request);
  }

  async #send(request: WorkerRequest): Promise<WorkerReply> {
    const worker = this.#worker;
    if (worker === undefined) throw new Error("The lake worker stopped before it was asked to write");
    const id = ++this.#nextId;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message = { ...request, id };
      worker.postMessage(message, message.type === "write" ? transferablesOf(message.records) : []);
    });
    if (reply.type === "failed") throw new Error(reply.message);
    return reply;
  }

  // Also replaces a worker that died: the new one opens the lake before its first write. Two flushes asking at once
  // share one start.
  async #ensureWorker(): Promise<void> {
    if (this.#worker !== undefined && this.#starting === undefined) return;
    this.#starting ??= this.#start().finally(() => this.#starting = undefined);
    await this.#starting;
  }

  async #start(): Promise<void> {
    this.#worker = new Worker(new URL("./lake_worker.ts", import.meta.url).href, { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<WorkerReply>) => this.#settle(event.data);
    this.#worker.onerror = (event) => this.#fail(event);
    try {
      const opened = await this.#send({ type: "open", id: 0, lakeDir: this.lakeRoot });
      if (opened.type === "opened") this.lakeRoot = opened.lakeDir;
    } catch (error) {
      this.#worker?.terminate();
      this.#worker = undefined;
      throw error;
    }
  }

  #settle(reply: WorkerReply): void {
    const waiter = this.#pending.get(reply.id);
    this.#pending.delete(reply.id);
    waiter?.resolve(reply);
  }

  #fail(event: ErrorEvent): void {
    event.preventDefault();
    const error = new Error(`The lake worker stopped: ${event.message}`);
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }
}
