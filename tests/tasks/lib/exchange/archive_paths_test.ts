import assert from "node:assert/strict";
import {
  archivePath,
  archiveTimeUnit,
  checksumBody,
  dayOfUs,
  daysBetween,
  daysOfMonth,
  dayStartUs,
  isArchiveDay,
  monthsWithin,
  parseArchiveCsvName,
  parseArchivePath,
} from "../../../../tasks/lib/exchange/archive_paths.ts";

Deno.test("archivePath() names daily and monthly zips and checksums as data.binance.vision does", () => {
  assert.equal(
    archivePath({ period: "daily", symbol: "BTCUSDT", date: "2024-08-01" }),
    "/data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.zip",
  );
  assert.equal(
    archivePath({ period: "monthly", symbol: "ETHUSDT", date: "2024-08" }, true),
    "/data/spot/monthly/trades/ETHUSDT/ETHUSDT-trades-2024-08.zip.CHECKSUM",
  );
});

Deno.test("parseArchivePath() reads back what archivePath() writes and rejects everything else", () => {
  for (const checksum of [false, true]) {
    for (
      const file of [
        { period: "daily", symbol: "BTCUSDT", date: "2024-02-29" },
        { period: "monthly", symbol: "SOLUSDT", date: "2025-01" },
      ] as const
    ) {
      assert.deepEqual(parseArchivePath(archivePath(file, checksum)), { file, checksum });
    }
  }
  for (
    const path of [
      "/data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08.zip", // a month in the daily folder
      "/data/spot/monthly/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.zip",
      "/data/spot/daily/trades/ETHUSDT/BTCUSDT-trades-2024-08-01.zip", // folder and file disagree
      "/data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2023-02-29.zip", // no such day
      "/data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.csv",
      "/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-08-01.zip",
      "/data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.zip",
    ]
  ) {
    assert.equal(parseArchivePath(path), undefined, path);
  }
});

Deno.test("parseArchiveCsvName() takes daily and monthly trade CSV names only", () => {
  assert.deepEqual(parseArchiveCsvName("BTCUSDT-trades-2024-08-01.csv"), {
    period: "daily",
    symbol: "BTCUSDT",
    date: "2024-08-01",
  });
  assert.deepEqual(parseArchiveCsvName("BTCUSDT-trades-2024-08.csv"), {
    period: "monthly",
    symbol: "BTCUSDT",
    date: "2024-08",
  });
  assert.equal(parseArchiveCsvName("btcusdt-trades-2024-08-01.csv"), undefined);
  assert.equal(parseArchiveCsvName("BTCUSDT-trades-2024-13-01.csv"), undefined);
  assert.equal(parseArchiveCsvName("trades.csv"), undefined);
});

Deno.test("checksumBody() is sha256sum's line: hash, two spaces, zip name, newline", () => {
  const sha = "ab".repeat(32);
  assert.equal(
    checksumBody(sha, { period: "daily", symbol: "BTCUSDT", date: "2024-08-01" }),
    `${sha}  BTCUSDT-trades-2024-08-01.zip\n`,
  );
});

Deno.test("daysBetween(), daysOfMonth() and monthsWithin() count UTC calendar days", () => {
  assert.deepEqual(daysBetween("2024-02-28", "2024-03-01"), ["2024-02-28", "2024-02-29", "2024-03-01"]);
  assert.deepEqual(daysBetween("2024-08-01", "2024-08-01"), ["2024-08-01"]);
  assert.equal(daysOfMonth("2024-02").length, 29);
  assert.equal(daysOfMonth("2025-12").at(-1), "2025-12-31");
  assert.deepEqual(monthsWithin("2024-07-31", "2024-10-30"), ["2024-08", "2024-09"]);
  assert.deepEqual(monthsWithin("2024-08-01", "2024-08-31"), ["2024-08"]);
  assert.deepEqual(monthsWithin("2024-08-02", "2024-08-31"), []);
  assert.equal(dayOfUs(dayStartUs("2024-08-01") + 86_400_000_000 - 1), "2024-08-01");
  assert.equal(isArchiveDay("2024-02-30"), false);
});

Deno.test("archiveTimeUnit() is ms before 2025-01-01 and µs from then on, unless told", () => {
  assert.equal(archiveTimeUnit("2024-12-31", "auto"), "ms");
  assert.equal(archiveTimeUnit("2025-01-01", "auto"), "us");
  assert.equal(archiveTimeUnit("2024-12", "auto"), "ms");
  assert.equal(archiveTimeUnit("2025-01", "auto"), "us");
  assert.equal(archiveTimeUnit("2024-08-01", "us"), "us");
  assert.equal(archiveTimeUnit("2025-08-01", "ms"), "ms");
});

Deno.test("archivePath() and parseArchivePath() use the futures/um layout on usdm, and only there", () => {
  const file = { period: "daily" as const, symbol: "BTCUSDT", date: "2023-04-05" };
  const path = "/data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2023-04-05.zip";
  assert.equal(archivePath(file, false, "usdm"), path);
  assert.equal(archivePath(file, true, "usdm"), `${path}.CHECKSUM`);
  assert.deepEqual(parseArchivePath(path, "usdm"), { file, checksum: false });
  assert.equal(parseArchivePath(path), undefined, "spot does not serve the futures layout");
  assert.equal(parseArchivePath(archivePath(file), "usdm"), undefined, "usdm does not serve the spot layout");
  const monthly = { period: "monthly" as const, symbol: "ETHUSDT", date: "2023-04" };
  assert.deepEqual(parseArchivePath(archivePath(monthly, true, "usdm"), "usdm"), { file: monthly, checksum: true });
});

Deno.test("archiveTimeUnit() keeps the futures archive in milliseconds after 2025", () => {
  assert.equal(archiveTimeUnit("2025-06-01", "auto", "usdm"), "ms");
  assert.equal(archiveTimeUnit("2025-06-01", "auto"), "us");
  assert.equal(archiveTimeUnit("2025-06-01", "us", "usdm"), "us");
});
