import assert from "node:assert/strict";
import {
  archiveUrl,
  checksumUrl,
  daysBetween,
  isDay,
  parseChecksum,
  planArchiveFiles,
} from "../../../../../tasks/lib/lake/archive/archive_files.ts";

Deno.test("planArchiveFiles() takes a whole month as its monthly file and other days as daily files", () => {
  const days = daysBetween("2024-07-30", "2024-09-02");
  const files = planArchiveFiles("spot", "BTCUSDT", days);
  assert.deepEqual(files.map((file) => `${file.period} ${file.date} ${file.days.length}`), [
    "daily 2024-07-30 1",
    "daily 2024-07-31 1",
    "monthly 2024-08 31",
    "daily 2024-09-01 1",
    "daily 2024-09-02 1",
  ]);
  assert.equal(planArchiveFiles("spot", "BTCUSDT", daysBetween("2024-02-01", "2024-02-29"))[0]!.period, "monthly");
});

Deno.test("archiveUrl() and checksumUrl() follow the archive's layout under any base", () => {
  const [file] = planArchiveFiles("spot", "ETHUSDT", ["2025-01-02"]);
  assert.equal(
    archiveUrl(new URL("https://data.binance.vision"), file!).href,
    "https://data.binance.vision/data/spot/daily/trades/ETHUSDT/ETHUSDT-trades-2025-01-02.zip",
  );
  assert.equal(
    checksumUrl(new URL("http://127.0.0.1:9443/mirror"), file!).href,
    "http://127.0.0.1:9443/mirror/data/spot/daily/trades/ETHUSDT/ETHUSDT-trades-2025-01-02.zip.CHECKSUM",
  );
});

Deno.test("parseChecksum() reads sha256sum lines and refuses anything else", () => {
  const hex = "a".repeat(64);
  assert.equal(parseChecksum(`${hex}  X-trades-2024-08-01.zip\n`, "X-trades-2024-08-01.zip"), hex);
  assert.equal(parseChecksum(`${hex.toUpperCase()} *X.zip`, "X.zip"), hex);
  assert.throws(() => parseChecksum("<html>404</html>", "X.zip"), SyntaxError);
  assert.throws(() => parseChecksum(`${hex}  Y.zip`, "X.zip"), /names "Y.zip"/);
});

Deno.test("isDay() accepts only real calendar days", () => {
  assert.equal(isDay("2024-02-29"), true);
  assert.equal(isDay("2023-02-29"), false);
  assert.equal(isDay("2024-8-1"), false);
  assert.deepEqual(daysBetween("2024-12-31", "2025-01-01"), ["2024-12-31", "2025-01-01"]);
});
