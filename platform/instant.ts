/**
 * Epoch ms of an ISO 8601 date or date-time, or NaN when it is not one or names a day the month does not
 * have: Date.parse reads 2024-02-30 as 1 March, which would silently move a validity window, a search
 * range or a watermark.
 */
export function parseInstant(text: string): number {
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth ? Date.parse(text) : Number.NaN;
}
