import assert from "node:assert/strict";
import { TradeHistory } from "../../../../tasks/lib/exchange/history.ts";
import { fixtureTrade } from "./_trades.ts";

function historyOf(capacity: number, count: number): TradeHistory {
  const history = new TradeHistory(capacity);
  for (let id = 1; id <= count; id++) history.append(fixtureTrade(id, id * 10, "1", "1", false));
  return history;
}

const ids = (trades: { id: number }[]) => trades.map((t) => t.id);

Deno.test("TradeHistory drops the oldest trades beyond its capacity", () => {
  const history = historyOf(5, 12);
  assert.equal(history.size, 5);
  assert.deepEqual(ids(history.slice(0, 5)), [8, 9, 10, 11, 12]);
  assert.equal(history.at(0)!.id, 8);
  assert.equal(history.at(5), undefined);
});

Deno.test("TradeHistory.latest() returns the most recent trades, oldest first", () => {
  assert.deepEqual(ids(historyOf(5, 12).latest(3)), [10, 11, 12]);
  assert.deepEqual(ids(historyOf(5, 2).latest(3)), [1, 2]);
});

Deno.test("TradeHistory.fromId() starts at the id, or at the oldest kept for older ids", () => {
  const history = historyOf(5, 12);
  assert.deepEqual(ids(history.fromId(9, 2)), [9, 10]);
  assert.deepEqual(ids(history.fromId(1, 3)), [8, 9, 10]);
  assert.deepEqual(ids(history.fromId(13, 3)), []);
});

Deno.test("TradeHistory.betweenTimes() selects by trade time, both ends included", () => {
  const history = historyOf(100, 10);
  assert.deepEqual(ids(history.betweenTimes(30_000, 50_000)), [3, 4, 5]);
  assert.deepEqual(ids(history.betweenTimes(31_000, 49_000)), [4]);
  assert.deepEqual(ids(history.betweenTimes(200_000, 300_000)), []);
});

Deno.test("TradeHistory refuses a capacity below 1", () => {
  assert.throws(() => new TradeHistory(0), RangeError);
});
