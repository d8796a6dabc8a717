/**
 * The status of one limit, computed from a counter reading: used, reserved,
 * remaining, percent, state and reset time, in user units (dollars for
 * cost). Pure, so REST, the WebSocket and the dashboard share one result.
 *
 * @module
 */

import type { CounterReading } from "../store/store.ts";
import type { CompiledLimit } from "./limits.ts";
import type { LimitState, LimitStatus } from "./types.ts";
import { toUser } from "./units.ts";
import { describeWindow, windowResetAt } from "./windows.ts";

/** The default fraction of a limit at which its state turns to warning. */
export const DEFAULT_WARN_AT = 0.8;

/** The state of a limit: exceeded when nothing remains, warning from `warnAt`. */
function limitState(
  taken: number,
  ceiling: number,
  warnAt: number,
): LimitState {
  if (taken >= ceiling) return "exceeded";
  if (taken >= ceiling * warnAt) return "warning";
  return "ok";
}

/** Percent of the ceiling taken, one decimal; a ceiling of 0 reads as 100. */
function percentTaken(taken: number, ceiling: number): number {
  if (ceiling <= 0) return 100;
  return Math.round((taken / ceiling) * 1000) / 10;
}

/**
 * Builds a limit's status at instant `now` from its counter reading.
 *
 * @example
 * limitStatus(compiled, { used: 45, reserved: 5, lastBucket: 29_000_000 }, now, 0.8);
 * // { used: 45, reserved: 5, remaining: 10, percent: 83.3, state: "warning", ... }
 */
export function limitStatus(
  limit: CompiledLimit,
  reading: CounterReading,
  now: number,
  warnAt: number,
): LimitStatus {
  const { def, spec, ceiling } = limit;
  const taken = reading.used + reading.reserved;
  const resetAt = windowResetAt(spec, now, reading.lastBucket);
  return {
    id: def.id,
    scope: def.scope,
    metric: def.metric,
    window: def.window,
    semantics: describeWindow(spec),
    limit: def.limit,
    used: toUser(def.metric, reading.used),
    reserved: toUser(def.metric, reading.reserved),
    remaining: toUser(def.metric, Math.max(0, ceiling - taken)),
    percent: percentTaken(taken, ceiling),
    state: limitState(taken, ceiling, warnAt),
    resetAt: resetAt === null ? null : new Date(resetAt).toISOString(),
  };
}

/**
 * The next instant at which a limit's numbers change without any traffic:
 * the oldest counted bucket leaving a rolling window, or the end of the
 * calendar period when it holds usage. Null when nothing will change.
 */
export function nextChangeAt(
  limit: CompiledLimit,
  reading: CounterReading,
  now: number,
): number | null {
  if (limit.spec.kind === "calendar") {
    return reading.used > 0
      ? windowResetAt(limit.spec, now, reading.lastBucket)
      : null;
  }
  const first = reading.firstBucket ?? reading.lastBucket;
  if (first === null || first === undefined) return null;
  return (first + limit.spec.span) * limit.spec.bucketMs;
}
