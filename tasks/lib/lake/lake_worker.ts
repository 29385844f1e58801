/**
 * The lake worker: on its own thread, decodes a flush's records and writes its Parquet files under temporary names,
 * while the consumer's thread goes on reading Kafka. The consumer sends the dead letters, publishes the files and
 * commits (see worker_writer.ts, which starts this).
 *
 * One request at a time, in the order they came.
 */
/// <reference lib="deno.worker" />
import { decodeFlush } from "./decode.ts";
import { LakeWriter } from "./parquet_writer.ts";
import type { WorkerReply, WorkerRequest } from "./worker_writer.ts";

let writer: LakeWriter | undefined;
let queue: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  queue = queue.then(() => handle(event.data));
};

async function handle(request: WorkerRequest): Promise<void> {
  const reply = (message: WorkerReply) => self.postMessage(message);
  try {
    switch (request.type) {
      case "open":
        writer = await LakeWriter.open(request.lakeDir);
        return reply({ type: "opened", id: request.id, lakeDir: writer.lakeDir });
      case "write": {
        if (writer === undefined) throw new Error("the lake worker was asked to write before it was opened");
        const { rows, deadLetters, lastTradeUs } = decodeFlush(request.records, request.kafkaPartition);
        const files = rows.length === 0
          ? []
          : await writer.writeTemporaries(rows, request.kafkaPartition, rows[0]!.kafkaOffset, request.writtenAtMs);
        return reply({ type: "written", id: request.id, files, rows: rows.length, deadLetters, lastTradeUs });
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
