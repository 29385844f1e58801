/**
 * Sends queued messages to Kafka in batches, one batch in flight at a time, and reports each batch once the
 * brokers have acknowledged it (acks from all in-sync replicas).
 *
 * One batch at a time because kafkajs's idempotent producer can lose messages when sends overlap; batches of
 * thousands keep throughput high anyway. Each send holds one partition: kafkajs tracks a send of several partitions
 * per broker, so when a leader moves between its retries (a broker stopping or killed) a partition is skipped,
 * silently lost, or sent again under new sequence numbers, which the broker cannot recognise as a repeat. A failed
 * send of one partition is retried with backoff until it lands or the publisher is closed; kafkajs then reuses its
 * sequence numbers and the broker drops what it already has. Acknowledgements come per batch, in enqueue order.
 */
import { CompressionTypes, type Message, type Producer } from "kafkajs";
import type { OutgoingMessage } from "./envelope.ts";
import { backoffDelayMs } from "./backoff.ts";
import { sleep } from "../sleep.ts";

/** One message and what the caller wants back when it is acknowledged. */
export interface QueuedMessage<Meta> {
  topic: string;
  message: OutgoingMessage;
  meta: Meta;
}

/** Publisher settings. */
export interface PublisherOptions<Meta> {
  /** Messages per batch at most. Default: 5000. */
  maxBatch?: number;
  /** How long a partial batch may wait for company. Default: 5 ms. */
  lingerMs?: number;
  /** Default: gzip (built into kafkajs; native zlib, about 5× smaller trade envelopes). */
  compression?: "gzip" | "none";
  /** Called in enqueue order with every acknowledged message. */
  onAcked: (messages: QueuedMessage<Meta>[]) => void;
  /** Called when a send failed and will be retried. */
  onRetry?: (error: Error, attempt: number) => void;
  /** Whether a failed send would fail again however often it is retried (a missing ACL); then it is not retried. */
  isRefusal?: (error: unknown) => boolean;
  /** Told once of the refusal; the publisher stops sending, and close() counts what is left as undelivered. */
  onRefused?: (error: Error) => void;
  /**
   * The partition of a message (kafkajs's partitioner over the topic's partitions), sent with it. Default: none,
   * and messages are grouped by key instead, which keeps keyed messages to one partition per send.
   */
  partitionOf?: (topic: string, message: OutgoingMessage) => number;
}

/** Batches messages into a kafkajs producer. */
export class KafkaPublisher<Meta> {
  #queue: QueuedMessage<Meta>[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #loop: Promise<void>;
  #between: (() => Promise<void>)[] = [];
  #inFlight = 0;
  // Aborted when close() gives up waiting. Each wait listens and stops listening, so a publisher that runs for
  // weeks keeps nothing per send (racing every send against one never-settling promise would).
  #abandonment = new AbortController();

  constructor(private readonly producer: Producer, private readonly options: PublisherOptions<Meta>) {
    this.#loop = this.#run();
  }

  /** Messages waiting or in flight. */
  get pending(): number {
    return this.#queue.length + this.#inFlight;
  }

  /** Adds a message to the next batch. */
  enqueue(item: QueuedMessage<Meta>): void {
    if (this.#closed) throw new Error("Cannot enqueue: the publisher is closed");
    this.#queue.push(item);
    // Wake the loop when it sleeps on an empty queue (to start the linger) or a batch is full (to cut the linger).
    if (this.#queue.length === 1 || this.#queue.length >= (this.options.maxBatch ?? 5000)) this.#wake?.();
  }

  /** Runs `task` while no batch is in flight (e.g. to read offsets that then match the acknowledged state). */
  betweenBatches(task: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#between.push(() => task().then(resolve, reject));
      this.#wake?.();
    });
  }

  /**
   * Sends everything queued, then stops. Resolves with the number of messages that could not be delivered within
   * `timeoutMs` (0 when all were acknowledged); those were never reported as acknowledged.
   */
  async close(timeoutMs = 30_000): Promise<number> {
    this.#closed = true;
    this.#wake?.();
    const timer = setTimeout(() => this.#abandonment.abort(), timeoutMs);
    await this.#loop;
    clearTimeout(timer);
    return this.#queue.length + this.#inFlight;
  }

  async #run(): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 5000;
    const lingerMs = this.options.lingerMs ?? 5;
    while (true) {
      for (const task of this.#between.splice(0)) await task();
      if (this.#queue.length === 0) {
        if (this.#closed) return;
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        continue;
      }
      if (this.#queue.length < maxBatch && !this.#closed && lingerMs > 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, lingerMs);
        });
        this.#wake = undefined;
      }
      const batch = this.#queue.splice(0, maxBatch);
      this.#inFlight = batch.length;
      if (!await this.#send(batch)) return; // abandoned at close: leave the batch counted as in flight
      this.#inFlight = 0;
      this.options.onAcked(batch);
    }
  }

  async #send(batch: QueuedMessage<Meta>[]): Promise<boolean> {
    const partitionOf = this.options.partitionOf;
    const sends = new Map<string, { topic: string; messages: Message[] }>();
    for (const { topic, message } of batch) {
      const partition = partitionOf?.(topic, message);
      const group = `${topic}\0${partition ?? message.key}`;
      const send = sends.get(group) ?? sends.set(group, { topic, messages: [] }).get(group)!;
      send.messages.push(partition === undefined ? message : { ...message, partition });
    }
    for (const send of sends.values()) {
      if (!await this.#sendPartition(send)) return false;
    }
    return true;
  }

  async #sendPartition(topicMessages: { topic: string; messages: Message[] }): Promise<boolean> {
    const compression = this.options.compression === "none" ? CompressionTypes.None : CompressionTypes.GZIP;
    for (let attempt = 0;; attempt++) {
      try {
        const sent = this.producer.sendBatch({ topicMessages: [topicMessages], acks: -1, compression });
        return await this.#unlessAbandoned(sent) !== "abandoned";
      } catch (error) {
        if (this.#abandonment.signal.aborted) return false;
        if (this.options.isRefusal?.(error)) {
          this.options.onRefused?.(error as Error);
          return false;
        }
        this.options.onRetry?.(error as Error, attempt);
        await sleep(backoffDelayMs(attempt, Math.random, { capMs: 5000 }), this.#abandonment.signal);
        if (this.#abandonment.signal.aborted) return false;
      }
    }
  }

  /** `promise`'s outcome, or "abandoned" as soon as close() gives up, whichever comes first. */
  #unlessAbandoned<T>(promise: Promise<T>): Promise<T | "abandoned"> {
    const signal = this.#abandonment.signal;
    if (signal.aborted) return Promise.resolve("abandoned");
    return new Promise((resolve, reject) => {
      const onAbort = () => resolve("abandoned");
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }
}
