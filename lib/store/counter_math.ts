/**
 * The arithmetic of one counter, shared by store backends: a ring of buckets
 * for usage plus a plain sum of reservation holds. Pure functions on plain
 * values, so every backend counts the same way.
 *
 * @module
 */

import type { CounterHold, CounterPosition, CounterReading } from "./store.ts";

/** A counter as stored: `[bucket, amount]` pairs, oldest first, and the held sum. */
export interface CounterValue {
  buckets: [number, number][];
  reserved: number;
}

/** A counter nobody has written yet. */
export const EMPTY_COUNTER: CounterValue = { buckets: [], reserved: 0 };

/** True when bucket `b` counts at `position`: `current - span < b <= current`. */
function counts(
  b: number,
  position: Pick<CounterPosition, "bucket" | "span">,
): boolean {
  return b > position.bucket - position.span && b <= position.bucket;
}

/** The buckets of a counter that count at `position`, oldest first. */
export function bucketsInWindow(
  value: CounterValue,
  position: Pick<CounterPosition, "bucket" | "span">,
): [number, number][] {
  return value.buckets.filter(([b, amount]) =>
    amount > 0 && counts(b, position)
  );
}

/** Reads a counter at a position. */
export function readCounter(
  value: CounterValue | null,
  position: Pick<CounterPosition, "bucket" | "span">,
): CounterReading {
  const current = value ?? EMPTY_COUNTER;
  const live = bucketsInWindow(current, position);
  let used = 0;
  for (const [, amount] of live) used += amount;
  return {
    used,
    reserved: current.reserved,
    lastBucket: live.length > 0 ? live[live.length - 1][0] : null,
    firstBucket: live.length > 0 ? live[0][0] : null,
  };
}

/** True when a hold of `amount` fits under `limit` (see the rule in store.ts). */
export function holdFits(reading: CounterReading, hold: CounterHold): boolean {
  const taken = reading.used + reading.reserved;
  if (hold.amount === 0) return taken < hold.limit;
  return taken + hold.amount <= hold.limit;
}

/** Drops buckets that no longer count at `position` (and never counted ahead of it). */
function pruned(
  value: CounterValue,
  position: Pick<CounterPosition, "bucket" | "span">,
): [number, number][] {
  return value.buckets.filter(([b]) => b > position.bucket - position.span);
}

/** Adds `amount` to the reserved sum. */
export function addHold(
  value: CounterValue | null,
  position: Pick<CounterPosition, "bucket" | "span">,
  amount: number,
): CounterValue {
  const current = value ?? EMPTY_COUNTER;
  return {
    buckets: pruned(current, position),
    reserved: current.reserved + amount,
  };
}

/** Removes `amount` from the reserved sum, never going below zero. */
export function removeHold(
  value: CounterValue | null,
  amount: number,
): CounterValue {
  const current = value ?? EMPTY_COUNTER;
  return {
    buckets: current.buckets,
    reserved: Math.max(0, current.reserved - amount),
  };
}

/** Adds usage to the bucket of `position`, keeping buckets sorted and pruned. */
export function addUsage(
  value: CounterValue | null,
  position: Pick<CounterPosition, "bucket" | "span">,
  amount: number,
): CounterValue {
  const current = value ?? EMPTY_COUNTER;
  const buckets = pruned(current, position).map((
    [b, a],
  ) => [b, a] as [number, number]);
  const existing = buckets.find(([b]) => b === position.bucket);
  if (existing) existing[1] += amount;
  else {
    buckets.push([position.bucket, amount]);
    buckets.sort((x, y) => x[0] - y[0]);
  }
  return { buckets, reserved: current.reserved };
}
