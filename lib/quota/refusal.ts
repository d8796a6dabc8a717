/**
 * Refusals: when a call may try again, and the sentence that tells its caller
 * which limit refused it and what to do.
 *
 * @module
 */

import type { CompiledLimit } from "./limits.ts";
import { describeScope } from "./scope.ts";
import { formatAmount, formatQuantity, toUser } from "./units.ts";
import { bucketExpiry, windowResetAt } from "./windows.ts";

/** The shortest wait a refusal suggests for a rolling window. */
export const MIN_RETRY_MS = 1000;

/** What the store saw when it refused a hold. */
export interface RefusalFacts {
  used: number;
  reserved: number;
  requested: number;
  /** The refusing counter's buckets in the window, oldest first. */
  buckets: [number, number][];
}

/**
 * How long until enough usage leaves the window for this call to fit.
 * Rolling: the expiry of the oldest bucket whose departure frees enough (at
 * least 1 s; when held reservations are in the way, when every bucket has
 * left). Calendar: until the next period begins.
 */
export function retryAfterMs(
  limit: CompiledLimit,
  facts: RefusalFacts,
  now: number,
): number {
  const { spec, ceiling } = limit;
  if (spec.kind === "calendar") {
    return Math.max(1, (windowResetAt(spec, now, null) ?? now) - now);
  }
  const excess = facts.used + facts.reserved + Math.max(facts.requested, 1) -
    ceiling;
  let freed = 0;
  let at: number | null = null;
  for (const [bucket, amount] of facts.buckets) {
    freed += amount;
    at = bucketExpiry(spec, bucket);
    if (freed >= excess) break;
  }
  if (at === null) return MIN_RETRY_MS;
  return Math.max(MIN_RETRY_MS, at - now);
}

/** Writes a wait for people: "12 s", "4 min 5 s", "3 h 20 min", "2 d 4 h". */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return pair(minutes, "min", seconds % 60, "s");
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return pair(hours, "h", minutes % 60, "min");
  return pair(Math.floor(hours / 24), "d", hours % 24, "h");
}

function pair(
  major: number,
  majorUnit: string,
  minor: number,
  minorUnit: string,
): string {
  return minor > 0
    ? `${major} ${majorUnit} ${minor} ${minorUnit}`
    : `${major} ${majorUnit}`;
}

/** "per 1m", "per day", "per day (Europe/Berlin)". */
export function windowPhrase(limit: CompiledLimit): string {
  const { spec, def } = limit;
  if (spec.kind === "rolling") return `per ${def.window}`;
  return spec.timeZone === "UTC"
    ? `per ${spec.unit}`
    : `per ${spec.unit} (${spec.timeZone})`;
}

/**
 * The sentence a refused caller reads.
 *
 * @example
 * "Request refused: key team-a has used 60 of its 60 requests per 1m; the limit frees enough in 12 s. Try again later or ask an admin to raise the limit."
 */
export function refusalMessage(
  limit: CompiledLimit,
  facts: RefusalFacts,
  waitMs: number,
): string {
  const { metric } = limit.def;
  const who = describeScope(limit.def.scope);
  const requested = toUser(metric, facts.requested);
  if (facts.requested > limit.ceiling) {
    return `Request refused: this call may use ${
      formatQuantity(metric, requested)
    }, more than the ${formatQuantity(metric, limit.def.limit)} ${
      windowPhrase(limit)
    } that ${who} may use at all. Ask for less (a lower max_tokens) or ask an admin to raise the limit.`;
  }
  const used = formatAmount(metric, toUser(metric, facts.used));
  const held = facts.reserved > 0
    ? ` (plus ${
      formatAmount(metric, toUser(metric, facts.reserved))
    } held by calls in flight)`
    : "";
  const when = limit.spec.kind === "calendar"
    ? `the limit resets in ${formatWait(waitMs)}`
    : `enough of it frees up in ${formatWait(waitMs)}`;
  const needs = metric === "requests"
    ? ""
    : `, and this call may use ${formatQuantity(metric, requested)}`;
  return `Request refused: ${who} has used ${used}${held} of its ${
    formatQuantity(metric, limit.def.limit)
  } ${
    windowPhrase(limit)
  }${needs}; ${when}. Try again later or ask an admin to raise the limit.`;
}
