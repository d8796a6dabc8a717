/**
 * Retrying Deno KV calls that fail only because another process holds the
 * database file's lock ("database is locked"), with a bound and full jitter.
 *
 * @module
 */

/** How many times a locked call is tried before giving up. */
export const MAX_KV_ATTEMPTS = 200;
const MAX_BACKOFF_MS = 50;

/** True when `error` says the database file is locked by another process. */
export function isLockedError(error: unknown): boolean {
  return error instanceof Error &&
    /database is locked|SQLITE_BUSY/i.test(error.message);
}

/** Waits a random time up to an exponentially growing cap (full jitter). */
export function backoff(attempt: number): Promise<void> {
  const cap = Math.min(MAX_BACKOFF_MS, 2 ** Math.min(attempt, 10));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
}

/** The error thrown when the database stayed busy through every attempt. */
export function busyError(): Error {
  return new Error(
    "The quota database stayed busy (locked by another process) through every retry; try the request again.",
  );
}

/** Runs `fn`, retrying while it throws "database is locked". */
export async function withLockRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < MAX_KV_ATTEMPTS; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isLockedError(error)) throw error;
      await backoff(attempt);
    }
  }
  throw busyError();
}
