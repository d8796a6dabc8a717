/**
 * Calendar arithmetic in an IANA time zone, done with Intl.DateTimeFormat and
 * Date.UTC only, so the process's own TZ never changes a result.
 *
 * A calendar period is a local day or a local month. Its index is the number
 * of days since 1970-01-01 of the local date, or `year * 12 + month0`.
 * Period boundaries are found by a binary search on instants, which stays
 * exact across DST changes, odd offsets (Pacific/Chatham, +12:45) and zones
 * that skip or repeat local midnights.
 *
 * @module
 */

/** A calendar unit. */
export type CalendarUnit = "day" | "month";

/** One local day or month, as the instants it spans. */
export interface CalendarPeriod {
  /** Day number or month number (see module doc). */
  index: number;
  /** First instant (epoch ms) of the period. */
  start: number;
  /** First instant (epoch ms) of the next period. */
  end: number;
}

const DAY_MS = 86_400_000;
/** Offsets never differ by more than this from a first guess (largest real jump is a day). */
const SEARCH_STEP_MS = 30 * 3_600_000;

const FORMATTERS = new Map<string, Intl.DateTimeFormat>();
const PERIOD_CACHE = new Map<string, CalendarPeriod>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  const cached = FORMATTERS.get(timeZone);
  if (cached) return cached;
  const created = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  FORMATTERS.set(timeZone, created);
  return created;
}

/**
 * Returns the canonical name of an IANA time zone ("utc" -> "UTC"), or null
 * when the runtime does not know the zone.
 */
export function canonicalTimeZone(timeZone: string): string | null {
  if (typeof timeZone !== "string" || timeZone.length === 0) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions()
      .timeZone;
  } catch {
    return null;
  }
}

/** The local wall-clock fields of an instant in a zone. */
export interface LocalFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Reads the local date and time of instant `t` in `timeZone`. */
export function localFields(t: number, timeZone: string): LocalFields {
  const fields: LocalFields = {
    year: 0,
    month: 0,
    day: 0,
    hour: 0,
    minute: 0,
    second: 0,
  };
  for (const part of formatter(timeZone).formatToParts(t)) {
    if (part.type in fields) {
      fields[part.type as keyof LocalFields] = Number(part.value);
    }
  }
  return fields;
}

/** The period index of instant `t` (see module doc). */
export function periodIndex(
  t: number,
  unit: CalendarUnit,
  timeZone: string,
): number {
  const f = localFields(t, timeZone);
  if (unit === "month") return f.year * 12 + (f.month - 1);
  return Date.UTC(f.year, f.month - 1, f.day) / DAY_MS;
}

/** Local wall time of `t`, read as if it were UTC: its difference to t is the offset. */
function wallAsUtc(t: number, timeZone: string): number {
  const f = localFields(t, timeZone);
  const ms = ((t % 1000) + 1000) % 1000;
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, ms);
}

/** Wall-clock start (as a UTC-read instant) of period `index`. */
function wallStartOf(index: number, unit: CalendarUnit): number {
  if (unit === "day") return index * DAY_MS;
  return Date.UTC(Math.floor(index / 12), ((index % 12) + 12) % 12, 1);
}

/**
 * The first instant whose period index is at least `target`, searched near
 * `near` (a time close to the answer). Exact to the millisecond.
 */
function firstInstantOfIndex(
  target: number,
  unit: CalendarUnit,
  timeZone: string,
  near: number,
): number {
  let lo = near - SEARCH_STEP_MS;
  while (periodIndex(lo, unit, timeZone) >= target) lo -= SEARCH_STEP_MS;
  let hi = near + SEARCH_STEP_MS;
  while (periodIndex(hi, unit, timeZone) < target) hi += SEARCH_STEP_MS;
  // Invariant: index(lo) < target <= index(hi).
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (periodIndex(mid, unit, timeZone) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The local day or month that contains instant `t`, with its exact start and
 * end instants. Cached per zone and unit, so the hot path usually costs a
 * comparison.
 *
 * @example
 * // New York's 2026-03-08 lasts 23 hours:
 * const p = calendarPeriod(Date.UTC(2026, 2, 8, 12), "day", "America/New_York");
 * (p.end - p.start) / 3_600_000; // 23
 */
export function calendarPeriod(
  t: number,
  unit: CalendarUnit,
  timeZone: string,
): CalendarPeriod {
  const cacheKey = `${timeZone}|${unit}`;
  const cached = PERIOD_CACHE.get(cacheKey);
  if (cached && cached.start <= t && t < cached.end) return cached;

  const index = periodIndex(t, unit, timeZone);
  const offset = wallAsUtc(t, timeZone) - t;
  const start = firstInstantOfIndex(
    index,
    unit,
    timeZone,
    Math.min(t, wallStartOf(index, unit) - offset),
  );
  const end = firstInstantOfIndex(
    index + 1,
    unit,
    timeZone,
    Math.max(t, wallStartOf(index + 1, unit) - offset),
  );
  const period = { index, start, end };
  if (PERIOD_CACHE.size > 256) PERIOD_CACHE.clear();
  PERIOD_CACHE.set(cacheKey, period);
  return period;
}
