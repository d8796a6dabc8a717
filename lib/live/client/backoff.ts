/**
 * The reconnect backoff of the live connection, as pure functions so the
 * policy is tested without sockets or clocks.
 *
 * @module
 */

/** Exponential backoff bounds. */
export interface BackoffPolicy {
  /** The ceiling of the first retry's delay. */
  baseMs: number;
  /** No delay ever exceeds this. */
  capMs: number;
}

/** 0.5 s for the first retry, doubling, never more than 30 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

/**
 * The largest delay before retry number `attempt` (1 for the first retry):
 * `min(cap, base × 2^(attempt − 1))`.
 */
export function backoffCeiling(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // 2^exponent overflows to Infinity for huge attempts; min() keeps the cap.
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/**
 * The delay before retry number `attempt`, with full jitter: uniform between
 * 0 and the ceiling. Full jitter spreads the reconnects of many dashboards after a
 * server restart instead of having them arrive in waves.
 *
 * @example
 * ```ts
 * backoffDelay(3, { baseMs: 500, capMs: 30_000 }, () => 0.5); // 1000
 * ```
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * backoffCeiling(attempt, policy));
}

/** What happened to one socket, for deciding the next attempt number. */
export interface SessionOutcome {
  /** When the socket opened, or null if it never did. */
  openedAt: number | null;
  /** When the first snapshot arrived, or null if none did. */
  snapshotAt: number | null;
  /** When it ended. */
  closedAt: number;
}

/**
 * The attempt number after a socket ended. Only a session that received its
 * snapshot and stayed up at least `minUptimeMs` counts as a success that
 * resets the backoff; a socket that dies right after opening (a crashing or
 * overloaded server, a proxy that accepts then cuts) keeps growing it, so
 * clients do not hammer a sick server.
 */
export function nextAttempt(
  previous: number,
  session: SessionOutcome,
  minUptimeMs: number,
): number {
  const healthy = session.openedAt !== null && session.snapshotAt !== null &&
    session.closedAt - session.openedAt >= minUptimeMs;
  return healthy ? 1 : previous + 1;
}
