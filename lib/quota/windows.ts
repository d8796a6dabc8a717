/**
 * Windows: how long usage counts against a limit.
 *
 * A rolling window of duration D (`30s`, `1m`, `2h30m`, `1d`...) counts usage
 * in slices ("buckets") of `max(1s, D/60 rounded up to whole seconds)`; the
 * window holds the current slice and the `span - 1` before it. A calendar
 * window (`day`, `month`) counts usage since the start of the current local
 * day or month in a given IANA time zone.
 *
 * @module
 */

import { QuotaInputError } from "./errors.ts";
import type { WindowSpec } from "./types.ts";
import { calendarPeriod, canonicalTimeZone } from "./zoned_time.ts";

/** Where a window stands at one instant: its current bucket and how many count. */
export interface WindowPosition {
  bucket: number;
  span: number;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** The longest rolling window accepted. */
const MAX_ROLLING_MS = 366 * DAY_MS;
/** A rolling window is cut into about this many buckets. */
const BUCKETS_PER_WINDOW = 60;
const DURATION_PATTERN =
  /^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,7})s)?$/;

/**
 * Parses a window as users write it. Durations are rolling windows; `day`
 * and `month` are calendar windows read in `timeZone`.
 *
 * @throws QuotaInputError with a sentence saying what is accepted.
 * @example
 * parseWindow("90m"); // { kind: "rolling", durationMs: 5_400_000, bucketMs: 90_000, span: 60 }
 * parseWindow("day", "Europe/Berlin"); // { kind: "calendar", unit: "day", timeZone: "Europe/Berlin" }
 */
export function parseWindow(text: string, timeZone = "UTC"): WindowSpec {
  if (text === "day" || text === "month") {
    const zone = canonicalTimeZone(timeZone);
    if (zone === null) {
      throw new QuotaInputError(
        `The time zone "${timeZone}" is not a known IANA time zone; use a name such as "UTC" or "America/New_York".`,
        "invalid_window",
        "timeZone",
      );
    }
    return { kind: "calendar", unit: text, timeZone: zone };
  }
  const durationMs = parseDuration(text);
  if (durationMs === null) {
    throw new QuotaInputError(
      `The window "${
        String(text).slice(0, 40)
      }" is not understood; write a duration such as 30s, 1m, 5m, 1h, 90m, 2h30m or 1d for a rolling window, or "day" or "month" for a calendar window.`,
      "invalid_window",
      "window",
    );
  }
  if (durationMs === 0 || durationMs > MAX_ROLLING_MS) {
    throw new QuotaInputError(
      `The window "${text}" must last between 1 second and 366 days; use "month" for a monthly budget.`,
      "invalid_window",
      "window",
    );
  }
  return rollingSpec(durationMs);
}

/** The rolling window spec for a duration, with its bucket size and span. */
function rollingSpec(durationMs: number): WindowSpec {
  const bucketMs = Math.max(
    SECOND_MS,
    Math.ceil(durationMs / BUCKETS_PER_WINDOW / SECOND_MS) * SECOND_MS,
  );
  return {
    kind: "rolling",
    durationMs,
    bucketMs,
    span: Math.ceil(durationMs / bucketMs),
  };
}

function parseDuration(text: string): number | null {
  if (typeof text !== "string" || text.length === 0) return null;
  const match = DURATION_PATTERN.exec(text);
  if (!match) return null;
  const [, d, h, m, s] = match;
  return (Number(d ?? 0) * DAY_MS) + (Number(h ?? 0) * HOUR_MS) +
    (Number(m ?? 0) * MINUTE_MS) + (Number(s ?? 0) * SECOND_MS);
}

/** Writes a duration the way windows are written: 5400000 -> "1h30m". */
export function formatDuration(durationMs: number): string {
  let rest = Math.round(durationMs / SECOND_MS);
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join("");
}

/**
 * The canonical text of a window, used in counter ids so that "90m" and
 * "1h30m" share their usage: "1h30m", "day@UTC", "month@Europe/Berlin".
 */
export function canonicalWindow(spec: WindowSpec): string {
  if (spec.kind === "rolling") return formatDuration(spec.durationMs);
  return `${spec.unit}@${spec.timeZone}`;
}

/** The bucket that instant `t` falls into, and how many buckets count. */
export function windowPosition(spec: WindowSpec, t: number): WindowPosition {
  if (spec.kind === "rolling") {
    return { bucket: Math.floor(t / spec.bucketMs), span: spec.span };
  }
  return { bucket: calendarPeriod(t, spec.unit, spec.timeZone).index, span: 1 };
}

/** The instant bucket `bucket` stops counting. */
export function bucketExpiry(spec: WindowSpec, bucket: number): number {
  if (spec.kind === "rolling") return (bucket + spec.span) * spec.bucketMs;
  // A calendar bucket is the current period: it stops counting when the period ends.
  return nextPeriodStart(spec, bucket);
}

function nextPeriodStart(
  spec: Extract<WindowSpec, { kind: "calendar" }>,
  index: number,
): number {
  // Find an instant inside the period from its rough wall-clock position, then read its end.
  const rough = spec.unit === "day"
    ? index * DAY_MS + 12 * HOUR_MS
    : Date.UTC(Math.floor(index / 12), index % 12, 15);
  return calendarPeriod(rough, spec.unit, spec.timeZone).end;
}

/**
 * When a limit resets, as an instant: for a calendar window the start of the
 * next local day or month; for a rolling window the moment all current usage
 * has left the window (null when nothing is in it).
 */
export function windowResetAt(
  spec: WindowSpec,
  t: number,
  lastBucket: number | null,
): number | null {
  if (spec.kind === "calendar") {
    return calendarPeriod(t, spec.unit, spec.timeZone).end;
  }
  if (lastBucket === null) return null;
  return (lastBucket + spec.span) * spec.bucketMs;
}

/**
 * A sentence telling users how the window counts.
 *
 * @example
 * describeWindow(parseWindow("1m")); // "Rolling 1m window: usage counts in 1-second slices and leaves the window 1m after the start of its slice."
 */
export function describeWindow(spec: WindowSpec): string {
  if (spec.kind === "calendar") {
    const zone = spec.timeZone;
    return spec.unit === "day"
      ? `Calendar day in ${zone}: usage counts from midnight and the limit resets at the next midnight in ${zone}.`
      : `Calendar month in ${zone}: usage counts from midnight on the 1st and the limit resets at midnight on the 1st of the next month in ${zone}.`;
  }
  const window = formatDuration(spec.durationMs);
  const slice = formatDuration(spec.bucketMs);
  const reach = formatDuration(spec.span * spec.bucketMs);
  const sliceWords = slice === "1s" ? "1-second" : slice;
  return `Rolling ${window} window: usage counts in ${sliceWords} slices and leaves the window ${reach} after the start of its slice.`;
}
