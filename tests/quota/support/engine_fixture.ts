/**
 * A quota engine on a fresh in-memory Deno KV store with a manual clock, for
 * engine tests. Close it with `using` or `close()`.
 *
 * @module
 */

import { type ManualClock, manualClock } from "../../../lib/quota/clock.ts";
import {
  type EngineOptions,
  type Estimate,
  QuotaEngine,
} from "../../../lib/quota/engine.ts";
import type { UsageRecord } from "../../../lib/quota/types.ts";
import { openKvStore } from "../../../lib/store/kv_store.ts";
import type { QuotaStore } from "../../../lib/store/store.ts";

/** An engine with its store and clock. */
export interface EngineFixture {
  engine: QuotaEngine;
  store: QuotaStore;
  clock: ManualClock;
  [Symbol.dispose](): void;
}

/** Opens an engine at `start` (epoch ms) with the given options. */
export async function engineAt(
  start: number,
  options: Omit<EngineOptions, "store" | "clock"> = {},
): Promise<EngineFixture> {
  const store = await openKvStore(":memory:");
  const clock = manualClock(start);
  const engine = new QuotaEngine({ ...options, store, clock: clock.now });
  return { engine, store, clock, [Symbol.dispose]: () => store.close() };
}

/** An estimate of a call. */
export function estimate(
  inputTokens: number,
  outputTokens: number,
  dollars = 0,
): Estimate {
  return { inputTokens, outputTokens, costNanos: Math.round(dollars * 1e9) };
}

let recordSeq = 0;

/** A usage record of one call. */
export function usage(
  key: string,
  model: string,
  at: number,
  counts: { input?: number; output?: number; dollars?: number } = {},
): UsageRecord {
  return {
    id: `rec-${++recordSeq}`,
    at,
    key,
    model,
    endpoint: "chat.completions",
    status: 200,
    inputTokens: counts.input ?? 0,
    cachedTokens: 0,
    outputTokens: counts.output ?? 0,
    reasoningTokens: 0,
    costNanos: Math.round((counts.dollars ?? 0) * 1e9),
    latencyMs: 5,
    estimated: false,
  };
}

/** Reads one limit's status by id. */
export async function limitById(engine: QuotaEngine, id: string) {
  const status = await engine.status();
  const found = status.scopes.flatMap((s) => s.limits).find((l) => l.id === id);
  if (!found) throw new Error(`No limit ${id} in the status.`);
  return found;
}
