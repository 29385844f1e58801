/**
 * The lake worker: on its own thread, decodes a flush's records and writes its Parquet files under temporary names,
 * while the consumer's thread goes on reading Kafka. The consumer sends the dead letters, publishes the files and
 * commits (see worker_writer.ts, which starts this).
 *
 * Requests are answered one at a time, in the order they came; a flush's records are decoded as soon as it arrives.
 */
/// <reference lib="deno.worker" />
import { type DecodedFlush, decodeFlush } from "../decoding/decode.ts";
import { LakeWriter } from "./parquet_writer.ts";
import type { WorkerReply, WorkerRequest } from "./worker_writer.ts";

let writer: LakeWriter | undefined;
let queue: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  // Decoding needs no DuckDB: done as the request arrives, while DuckDB may still be writing an earlier flush.
  let decoded: DecodedFlush | Error | undefined;
  if (request.type === "write") {
    try {
      decoded = decodeFlush(request.records, request.kafkaPartition, request.market);
    } catch (error) {
      decoded = error instanceof Error ? error : new Error(String(error));
    }
  }
  queue = queue.then(() => handle(request, decoded));
};

async function handle(request: WorkerRequest, decoded: DecodedFlush | Error | undefined): Promise<void> {
  const reply = (message: WorkerReply) => self.postMessage(message);
  try {
    switch (request.type) {
      case "open":
        writer = await LakeWriter.open(request.lakeDir);
        return reply({ type: "opened", id: request.id, lakeDir: writer.lakeDir });
      case "write": {
        if (writer === undefined) throw new Error("the lake worker was asked to write before it was opened");
        if (decoded === undefined) throw new Error("a write arrived without its records decoded");
        if (decoded instanceof Error) throw decoded;
        const { trades, deadLetters, lastTradeUs } = decoded;
        // Files are named after the first trade's offset, as when rows are written directly (a record before it
        // may have gone to the DLQ).
        const firstOffset = trades.length > 0 ? trades.kafkaOffsets[0]! : 0n;
        const files = await writer.writeTemporaries(trades, request.kafkaPartition, firstOffset, request.writtenAtMs);
        return reply({ type: "written", id: request.id, files, rows: trades.length, deadLetters, lastTradeUs });
      }
      case "close":
        writer?.close();
        writer = undefined;
        return reply({ type: "closed", id: request.id });
    }
  } catch (error) {
    reply({ type: "failed", id: request.id, message: (error as Error).message ?? String(error) });
  }
}
