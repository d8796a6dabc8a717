/**
 * Computes calendar periods and window positions for a fixed set of instants
 * and zones, and prints them as JSON when run as a script. A test runs it in
 * subprocesses with odd TZ settings and expects identical results.
 *
 * @module
 */

import { calendarPeriod } from "../../../lib/quota/zoned_time.ts";
import {
  parseWindow,
  windowPosition,
  windowResetAt,
} from "../../../lib/quota/windows.ts";

/** Instants around DST changes, month ends and midnights. */
export const ZONE_PROBE_CASES: number[] = [
  Date.UTC(2026, 2, 8, 6, 59, 59, 999),
  Date.UTC(2026, 2, 8, 7),
  Date.UTC(2026, 10, 1, 5, 30),
  Date.UTC(2026, 10, 1, 6, 30),
  Date.UTC(2026, 1, 28, 23, 59, 59, 999),
  Date.UTC(2028, 1, 29, 12),
  Date.UTC(2026, 3, 30, 23, 59, 59, 999),
  Date.UTC(2026, 11, 31, 23, 59, 59, 999),
  Date.UTC(2027, 0, 1),
  Date.UTC(2026, 3, 5, 13, 44, 59, 999),
  Date.UTC(2026, 8, 26, 14, 0),
  Date.UTC(2026, 9, 25, 0, 59, 59, 999),
];

const ZONES = [
  "UTC",
  "America/New_York",
  "Europe/London",
  "Pacific/Chatham",
  "Asia/Kolkata",
];

/** Every period and window position for every case. */
export function zoneProbe(): {
  processOffsetMinutes: number;
  results: unknown[];
} {
  const results: unknown[] = [];
  for (const t of ZONE_PROBE_CASES) {
    for (const zone of ZONES) {
      for (const unit of ["day", "month"] as const) {
        const period = calendarPeriod(t, unit, zone);
        const spec = parseWindow(unit, zone);
        results.push([
          t,
          zone,
          unit,
          period,
          windowPosition(spec, t),
          windowResetAt(spec, t, null),
        ]);
      }
    }
    for (const window of ["1m", "90m", "1d"]) {
      const spec = parseWindow(window);
      results.push([t, window, windowPosition(spec, t)]);
    }
  }
  // The process offset proves that TZ took effect in the subprocess.
  return {
    processOffsetMinutes: new Date(Date.UTC(2026, 0, 15)).getTimezoneOffset(),
    results,
  };
}

if (import.meta.main) console.log(JSON.stringify(zoneProbe()));
