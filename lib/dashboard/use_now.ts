/**
 * A ticking clock for islands: countdowns and "40 s ago" read it, so only
 * they re-render each second.
 *
 * @module
 */

import { type Signal, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";

/**
 * The current time (epoch ms) as a signal that ticks every `intervalMs`. It
 * starts at `initial` (the server's render time) so that the browser's first
 * render matches the server's HTML, then follows the browser's clock.
 */
export function useNow(initial: number, intervalMs = 1_000): Signal<number> {
  const now = useSignal(initial);
  useEffect(() => {
    now.value = Date.now();
    const timer = setInterval(() => {
      now.value = Date.now();
    }, intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
