/**
 * Quota windows: a minute is an epoch minute; a day is a calendar day in China Standard Time (UTC+8,
 * no daylight saving), computed from the instant alone so the host's time zone never matters.
 */
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const CST_OFFSET_MS = 8 * 3_600_000;

export function epochMinute(now: number): number {
  return Math.floor(now / MINUTE_MS);
}

/** The minute of the CST calendar day that contains `now` (0..1439). */
export function cstMinuteOfDay(now: number): number {
  return epochMinute(now + CST_OFFSET_MS) % (DAY_MS / MINUTE_MS);
}

/** `yyyymmdd` of the CST calendar day that contains `now`. */
export function cstDay(now: number): string {
  const d = new Date(now + CST_OFFSET_MS);
  const month = String(d.getUTCMonth() + 1).padStart(2, '0');
  const day = String(d.getUTCDate()).padStart(2, '0');
  return `${d.getUTCFullYear()}${month}${day}`;
}

/** Whole seconds until the next minute window opens (1..60). */
export function secondsToNextMinute(now: number): number {
  return Math.ceil(((epochMinute(now) + 1) * MINUTE_MS - now) / 1000);
}

/** Whole seconds until the next CST midnight (1..86400). */
export function secondsToNextCstDay(now: number): number {
  const nextMidnight = (Math.floor((now + CST_OFFSET_MS) / DAY_MS) + 1) * DAY_MS - CST_OFFSET_MS;
  return Math.ceil((nextMidnight - now) / 1000);
}
