/**
 * Time as the quota domain sees it: a function returning epoch milliseconds.
 * Injecting it lets tests stand one millisecond either side of a boundary.
 *
 * @module
 */

/** Returns the current time in epoch milliseconds. */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();

/** A clock that only moves when told to, for tests and simulations. */
export interface ManualClock {
  /** The clock function to hand to the engine. */
  now: Clock;
  /** Jumps to an absolute time (epoch ms). */
  set(at: number): void;
  /** Moves forward by `ms` milliseconds. */
  advance(ms: number): void;
}

/**
 * Creates a clock that stands still until moved.
 *
 * @example
 * const clock = manualClock(Date.UTC(2026, 0, 31, 23, 59, 59, 999));
 * clock.advance(1); // now exactly midnight UTC, 1 February
 */
export function manualClock(start: number): ManualClock {
  let current = start;
  return {
    now: () => current,
    set: (at) => {
      current = at;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}
