/**
 * A marts database for the notebook tests: 40 minutes of two pairs with a price walk, both taker sides, a few
 * hundred trades, a gap, a latency spike past the warn threshold, several lake files per hour and a few dead-letter
 * events of three reasons, refreshed by the real mart builder. Deterministic: the same trades every run.
 */
import { refreshMarts } from "../../../../tasks/lib/warehouse/builder.ts";
import { PROJECT_ROOT } from "../../../../tasks/lib/paths.ts";
import { utcMs } from "../../../helpers/golden_lake.ts";
import { dlqMessage } from "../../../../tasks/lib/ingest/envelope.ts";
import { type FixtureTrade, writeDlq, writeLake } from "../../../helpers/lake.ts";

/** The first minute of the fixture, UTC. */
export const FIXTURE_START_MS = utcMs("2025-03-01 23:30:00.000");

/** Minutes of trades per pair. */
export const FIXTURE_MINUTES = 40;

/** The refresh's now: two minutes after the last trade. */
export const FIXTURE_NOW_MS = FIXTURE_START_MS + (FIXTURE_MINUTES + 2) * 60_000;

/** A lake folder and a database path under data/, removed by `cleanUp`. */
export interface FixturePaths {
  lakeDir: string;
  duckdbPath: string;
  cleanUp(): Promise<void>;
}

/** Fresh paths where the refresh's and the tests' permissions reach. */
export function fixturePaths(): FixturePaths {
  const id = crypto.randomUUID();
  const lakeDir = `${PROJECT_ROOT}/data/parquet/test-${id}`;
  const dbDir = `${PROJECT_ROOT}/data/duckdb/test-${id}`;
  return {
    lakeDir,
    duckdbPath: `${dbDir}/crypto.duckdb`,
    async cleanUp() {
      await Deno.remove(lakeDir, { recursive: true }).catch(() => {});
      await Deno.remove(dbDir, { recursive: true }).catch(() => {});
    },
  };
}

/** The fixture's trades of one pair: ids from `firstId`, a price walk from `startPrice`, ids 1000-1002 missing. */
export function fixtureTrades(pair: string, firstId: number, startPrice: number): FixtureTrade[] {
  const random = mulberry32(firstId);
  const trades: FixtureTrade[] = [];
  let price = startPrice;
  let id = firstId;
  for (let minute = 0; minute < FIXTURE_MINUTES; minute++) {
    const count = 4 + Math.floor(random() * 8);
    for (let i = 0; i < count; i++) {
      price *= 1 + (random() - 0.48) * 0.002;
      const quantity = 0.001 * Math.exp(random() * 7);
      // Minutes 25-27 are slow to ingest: p99 well past the 2000 ms warn threshold.
      const slow = minute >= 25 && minute <= 27;
      trades.push({
        pair,
        id,
        timeMs: FIXTURE_START_MS + minute * 60_000 + Math.floor((i + random()) * (60_000 / count)),
        price: price.toFixed(2),
        qty: quantity.toFixed(5),
        buyerMaker: random() < 0.45,
        ingestDelayMs: slow ? 2500 + Math.floor(random() * 1500) : 20 + Math.floor(random() * 80),
      });
      id += id === firstId + 99 ? 4 : 1; // a gap of three ids after the hundredth trade
    }
  }
  return trades;
}

/** Writes the fixture lake (one flush a minute per pair, as a busy consumer would) and refreshes the marts. */
export async function writeFixtureDatabase(paths: FixturePaths): Promise<void> {
  const pairs = [fixtureTrades("BTCUSDT", 900, 60_000), fixtureTrades("ETHUSDT", 5_000, 3_000)];
  for (const [partition, trades] of pairs.entries()) {
    for (let minute = 0; minute < FIXTURE_MINUTES; minute++) {
      const startMs = FIXTURE_START_MS + minute * 60_000;
      const flush = trades.filter((t) => t.timeMs >= startMs && t.timeMs < startMs + 60_000);
      const firstOffset = trades.indexOf(flush[0]!);
      await writeLake(paths.lakeDir, flush, { kafkaPartition: partition, firstOffset, writtenAtMs: startMs + 61_000 });
    }
  }
  await writeDlq(
    paths.lakeDir,
    0,
    0,
    FIXTURE_DLQ.map(([minute, reason, symbol]) => {
      const atMs = FIXTURE_START_MS + minute * 60_000 + 7_000;
      return { value: dlqMessage('{"e":"trade"}', reason, "bad", atMs, symbol).value, atMs };
    }),
  );
  const result = await refreshMarts({
    lakeDir: paths.lakeDir,
    duckdbPath: paths.duckdbPath,
    modelsDir: `${PROJECT_ROOT}/models`,
    nowMs: FIXTURE_NOW_MS,
  });
  if (result.status !== "built") throw new Error(`Cannot build the fixture marts: refresh says ${result.status}`);
}

/** The fixture's dead-letter events: minute of the fixture, reason, symbol. */
export const FIXTURE_DLQ: readonly [number, "malformed_json" | "invalid_decimal" | "missing_field", string?][] = [
  [3, "malformed_json"],
  [4, "malformed_json"],
  [12, "invalid_decimal", "BTCUSDT"],
  [13, "invalid_decimal", "BTCUSDT"],
  [14, "missing_field", "ETHUSDT"],
  [31, "malformed_json"],
];

/** A small deterministic PRNG (mulberry32), so the fixture is the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
