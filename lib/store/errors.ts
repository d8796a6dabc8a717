/**
 * Errors a quota store raises when it cannot answer at all, as opposed to
 * answering "no". Callers map `StoreUnavailableError` to 503 (fail closed) or
 * fall back to local counting (see `fail_open_store.ts`).
 *
 * @module
 */

/**
 * The store did not answer (down, unreachable, timed out). A write that timed
 * out may or may not have happened; every store write is idempotent by its id,
 * so trying again is safe.
 */
export class StoreUnavailableError extends Error {
  /** A stable code for error bodies and metrics. */
  readonly code = "store_unavailable";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** True when `error` says the store could not be reached, whatever wrapped it. */
export function isStoreUnavailable(
  error: unknown,
): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError;
}
