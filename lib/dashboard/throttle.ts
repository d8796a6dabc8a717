/**
 * A throttle for refreshes that follow live updates: the first call runs at
 * once, later calls within the interval collapse into one trailing run, so a
 * busy gateway costs the page at most one refresh per interval.
 *
 * @module
 */

/** A throttled function and a way to cancel its pending run. */
export interface Throttled {
  (): void;
  /** Drops a pending trailing run (when the island unmounts). */
  cancel(): void;
}

/**
 * Wraps `fn` so that it runs at most once per `intervalMs`, never dropping
 * the last call.
 *
 * @example
 * ```ts
 * const refresh = throttle(() => loadChart(), 2_000);
 * refresh(); refresh(); refresh(); // runs now, then once more after 2 s
 * ```
 */
export function throttle(fn: () => void, intervalMs: number): Throttled {
  let lastRun = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    timer = undefined;
    lastRun = Date.now();
    fn();
  };
  const throttled = () => {
    if (timer !== undefined) return;
    const wait = lastRun + intervalMs - Date.now();
    if (wait <= 0) {
      run();
      return;
    }
    timer = setTimeout(run, wait);
  };
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return throttled;
}
