/**
 * Admission in-process: one decision is QuotaEngine.admit followed by
 * release, on a `:memory:` Deno KV store, under limits on the gateway, the
 * key, the model and the key with the model (six limits, none reachable).
 * Beside it, npm rate-limiter-flexible's RateLimiterMemory does the same job
 * for one limit: consume one point.
 *
 * Run: `deno bench -A bench/admission_bench.ts` (or as part of `deno task bench`).
 * The "100 concurrent" cases start 100 decisions at once and wait for all:
 * divide their time by 100 for the time per decision under load.
 *
 * @module
 */

import { RateLimiterMemory } from "rate-limiter-flexible";
import { QuotaEngine } from "../lib/quota/engine.ts";
import { openKvStore } from "../lib/store/kv_store.ts";
import { BENCH_KEY, BENCH_MODEL, benchLimits } from "./support/bench_limits.ts";

/** How many decisions the concurrent cases start at once. */
export const CONCURRENT = 100;

const store = await openKvStore(":memory:");
const engine = new QuotaEngine({
  store,
  fileLimits: benchLimits().map((def) => ({ ...def, source: "file" as const })),
});
const estimate = { inputTokens: 20, outputTokens: 256, costNanos: 160_000 };

async function decide(): Promise<void> {
  const admission = await engine.admit({
    key: BENCH_KEY,
    model: BENCH_MODEL,
    estimate,
  });
  if (!admission.ok) {
    throw new Error(`The benchmark was refused: ${admission.message}`);
  }
  await engine.release(admission.reservationId);
}

const limiter = new RateLimiterMemory({ points: 1e12, duration: 60 });

Deno.bench({
  name: "quota engine admit+release (Deno KV :memory:, 6 limits)",
  group: "one at a time",
  baseline: true,
  fn: decide,
});

Deno.bench({
  name: "rate-limiter-flexible RateLimiterMemory consume",
  group: "one at a time",
  fn: async () => {
    await limiter.consume(BENCH_KEY, 1);
  },
});

Deno.bench({
  name: `quota engine admit+release x${CONCURRENT} concurrent`,
  group: "concurrent",
  baseline: true,
  fn: async () => {
    await Promise.all(Array.from({ length: CONCURRENT }, decide));
  },
});

Deno.bench({
  name: `rate-limiter-flexible consume x${CONCURRENT} concurrent`,
  group: "concurrent",
  fn: async () => {
    await Promise.all(
      Array.from({ length: CONCURRENT }, () => limiter.consume(BENCH_KEY, 1)),
    );
  },
});
