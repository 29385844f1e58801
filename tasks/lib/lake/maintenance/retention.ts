/**
 * Which lake partitions are past retention. A partition's age is its trade date (UTC): a day is kept while it is
 * within `days` days of today, so `--days 7` on 2025-01-10 keeps 2025-01-03 and later. Pure.
 */

/** The trade dates (YYYY-MM-DD) among `dates` that are older than `days` days before `today` (YYYY-MM-DD). */
export function expiredDates(dates: readonly string[], today: string, days: number): string[] {
  const cutoff = new Date(Date.parse(`${today}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
  return dates.filter((date) => /^\d{4}-\d{2}-\d{2}$/.test(date) && date < cutoff);
}
