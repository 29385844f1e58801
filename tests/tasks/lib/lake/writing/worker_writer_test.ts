import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { tradeMessage } from "../../../../../tasks/lib/ingest/envelope.ts";
import type { DeadLetter } from "../../../../../tasks/lib/lake/decoding/decode.ts";
import { PublishRefusedError } from "../../../../../tasks/lib/lake/writing/parquet_writer.ts";
import { LakeWorkerWriter } from "../../../../../tasks/lib/lake/writing/worker_writer.ts";
import { TRADE } from "../../../../helpers/fixtures.ts";
import { makeTestDir } from "../../../../helpers/tasks.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const trade = (id: number, hour: number) =>
  encode(tradeMessage({ ...TRADE, t: id, T: TRADE.T + hour * 3_600_000 }, TRADE.T + 50, false).value);

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await filesUnder(path));
    else found.push(path.slice(dir.length + 1));
  }
  return found.sort();
}

Deno.test("LakeWorkerWriter decodes and writes on its thread, sends dead letters first, publishes only when allowed", async () => {
  const lake = await makeTestDir("lake");
  const letters: DeadLetter[] = [];
  const writer = await LakeWorkerWriter.open(lake, {
    deadLetter: (_partition, letter) => Promise.resolve(void letters.push(letter)),
  });
  try {
    // Two hours of trades around a record that is not JSON and one without a value.
    const records = [
      { kafkaOffset: 100n, value: trade(1, 0) },
      { kafkaOffset: 101n, value: encode("{not json") },
      { kafkaOffset: 102n, value: trade(2, 0) },
      { kafkaOffset: 103n, value: null },
      { kafkaOffset: 104n, value: trade(3, 1) },
    ];
    const written = await writer.write(records, 4, 100n, Date.now(), () => true);
    assert.equal(written.rows, 3);
    assert.deepEqual(written.files.map((file) => file.slice(writer.lakeDir.length + 1)), [
      "pair=BTCUSDT/trade_date=2023-11-14/hour=22/part-4-00000000000000000100.parquet",
      "pair=BTCUSDT/trade_date=2023-11-14/hour=23/part-4-00000000000000000100.parquet",
    ]);
    assert.deepEqual(letters.map((l) => [l.kafkaOffset, l.reason, l.raw]), [
      [101n, "malformed_json", "{not json"],
      [103n, "empty_record", ""],
    ]);
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const rows = (await connection.runAndReadAll(
        `select trade_id::integer as id, price::varchar as price, kafka_partition, kafka_offset::integer as offset
         from read_parquet('${writer.lakeDir}/pair=*/*/*/*.parquet') order by trade_id`,
      )).getRowObjectsJson();
      assert.deepEqual(rows, [
        { id: 1, price: "37000.01000000", kafka_partition: 4, offset: 100 },
        { id: 2, price: "37000.01000000", kafka_partition: 4, offset: 102 },
        { id: 3, price: "37000.01000000", kafka_partition: 4, offset: 104 },
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }

    // A partition that moved on: nothing of the flush becomes visible, and no temporary file stays behind.
    const before = await filesUnder(writer.lakeDir);
    await assert.rejects(
      writer.write([{ kafkaOffset: 200n, value: trade(9, 0) }], 4, 200n, Date.now(), () => false),
      PublishRefusedError,
    );
    assert.deepEqual(await filesUnder(writer.lakeDir), before);

    // A prepared flush that is discarded leaves nothing either.
    const prepared = await writer.prepare([{ kafkaOffset: 300n, value: trade(10, 0) }], 4, 300n, Date.now());
    await prepared.discard();
    assert.deepEqual(await filesUnder(writer.lakeDir), before);
  } finally {
    await writer.close();
    await Deno.remove(lake, { recursive: true });
  }
});
