/**
 * The limits every Quota Monitor benchmark runs under: one on the gateway,
 * one on the key, one on the model and one on the key with the model, each
 * high enough never to refuse, so that admission does its full work (four
 * counters held and settled) without ever turning a call away.
 *
 * @module
 */

import type { LimitDefinition } from "../../lib/quota/types.ts";

/** The virtual key name the benchmarks use. */
export const BENCH_KEY = "bench";
/** The model the benchmark requests name. */
export const BENCH_MODEL = "gpt-4o-mini";

/** Limits on every scope a call touches, none of which a benchmark can reach. */
export function benchLimits(): Omit<LimitDefinition, "source">[] {
  const huge = 1e12;
  return [
    {
      id: "bench-gateway-requests",
      scope: "gateway",
      metric: "requests",
      window: "1m",
      limit: huge,
    },
    {
      id: "bench-gateway-tokens",
      scope: "gateway",
      metric: "tokens",
      window: "day",
      limit: huge,
    },
    {
      id: "bench-key-requests",
      scope: `key:${BENCH_KEY}`,
      metric: "requests",
      window: "1h",
      limit: huge,
    },
    {
      id: "bench-key-dollars",
      scope: `key:${BENCH_KEY}`,
      metric: "cost_usd",
      window: "month",
      limit: 1e6,
    },
    {
      id: "bench-model-tokens",
      scope: `model:${BENCH_MODEL}`,
      metric: "input_tokens",
      window: "1m",
      limit: huge,
    },
    {
      id: "bench-key-model-output",
      scope: `key:${BENCH_KEY}/model:${BENCH_MODEL}`,
      metric: "output_tokens",
      window: "1h",
      limit: huge,
    },
  ];
}
