/**
 * Notices changes made by other processes that share the store. Deno KV's
 * `kv.watch` does not see another process's writes to a local database file,
 * so each process polls the store's change counter and tells its own hub.
 *
 * @module
 */

/** A timer handle (a number in browsers and Deno, an object under Node types). */
type Timer = ReturnType<typeof setTimeout>;

/** What `watchChangeSeq` returns. */
export interface ChangeWatch {
  /** Stops polling; a read in flight is ignored. */
  stop(): void;
}

/**
 * Polls `read` (e.g. `store.changeSeq`) every `intervalMs` and calls
 * `onChange` whenever the number differs from the last one seen, so a change
 * made by another process reaches this process's hub within about one
 * interval plus one read. Reads never overlap. A failed read is reported to
 * `onError` and, since a change may have been missed meanwhile, the next
 * successful read counts as a change.
 *
 * This process's own writes move the counter too; the resulting extra
 * `notify()` is absorbed by the hub's coalescing.
 *
 * @example
 * ```ts
 * const watch = watchChangeSeq(() => store.changeSeq(), () => hub.notify());
 * // on shutdown: watch.stop();
 * ```
 */
export function watchChangeSeq(
  read: () => Promise<number>,
  onChange: () => void,
  intervalMs = 250,
  onError: (error: unknown) => void = (error) =>
    console.error("live: reading the store's change counter failed:", error),
): ChangeWatch {
  let stopped = false;
  let timer: Timer | undefined;
  let last: number | undefined;
  let missed = false;

  const poll = async () => {
    timer = undefined;
    let seq: number;
    try {
      seq = await read();
    } catch (error) {
      if (stopped) return;
      missed = last !== undefined;
      onError(error);
      timer = setTimeout(poll, intervalMs);
      return;
    }
    if (stopped) return;
    const changed = missed || (last !== undefined && seq !== last);
    last = seq;
    missed = false;
    if (changed) onChange();
    if (!stopped) timer = setTimeout(poll, intervalMs);
  };

  void poll();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
