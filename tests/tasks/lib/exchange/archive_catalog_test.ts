import assert from "node:assert/strict";
import { type ArchiveCatalog, archiveFiles, archiveSource } from "../../../../tasks/lib/exchange/archive_catalog.ts";

const catalog: ArchiveCatalog = {
  symbols: new Set(["BTCUSDT", "ETHUSDT"]),
  generated: { from: "2024-07-30", to: "2024-09-01" },
  prefilled: new Map([["BTCUSDT", new Set(["2025-06-01"])]]),
  csv: new Map([["XRPUSDT-trades-2024-08-01", "data/XRPUSDT-trades-2024-08-01.csv"]]),
};

Deno.test("archiveSource() has generated days in range for the served symbols only", () => {
  assert.deepEqual(archiveSource(catalog, { period: "daily", symbol: "ETHUSDT", date: "2024-07-30" }), {
    kind: "generated",
    days: ["2024-07-30"],
  });
  assert.equal(archiveSource(catalog, { period: "daily", symbol: "ETHUSDT", date: "2024-09-02" }), undefined);
  assert.equal(archiveSource(catalog, { period: "daily", symbol: "SOLUSDT", date: "2024-08-01" }), undefined);
});

Deno.test("archiveSource() has monthly files only for months wholly inside the range", () => {
  const august = archiveSource(catalog, { period: "monthly", symbol: "BTCUSDT", date: "2024-08" });
  assert.equal(august?.kind, "generated");
  assert.equal(august?.kind === "generated" && august.days.length, 31);
  assert.equal(archiveSource(catalog, { period: "monthly", symbol: "BTCUSDT", date: "2024-07" }), undefined);
  assert.equal(archiveSource(catalog, { period: "monthly", symbol: "BTCUSDT", date: "2024-09" }), undefined);
});

Deno.test("archiveSource() serves prefilled days and given CSVs, whatever the generated range", () => {
  assert.deepEqual(archiveSource(catalog, { period: "daily", symbol: "BTCUSDT", date: "2025-06-01" }), {
    kind: "prefill",
    day: "2025-06-01",
  });
  assert.equal(archiveSource(catalog, { period: "daily", symbol: "ETHUSDT", date: "2025-06-01" }), undefined);
  assert.deepEqual(archiveSource(catalog, { period: "daily", symbol: "XRPUSDT", date: "2024-08-01" }), {
    kind: "csv",
    path: "data/XRPUSDT-trades-2024-08-01.csv",
  });
});

Deno.test("archiveFiles() lists every file once", () => {
  const files = archiveFiles(catalog);
  assert.equal(files.length, 2 * 34 + 1 + 1 + 2);
  assert.equal(new Set(files.map((file) => `${file.period}/${file.symbol}/${file.date}`)).size, files.length);
});
