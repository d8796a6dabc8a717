/**
 * From tokens to what a call holds and costs: the price lookup that refuses
 * unknown models (never a silent $0), and the estimate an admission reserves.
 *
 * @module
 */

import type { PriceLookup, PriceTable } from "./pricing.ts";
import { costNanos } from "./pricing.ts";
import type { UsageCounts } from "./types.ts";

/** A model with no price and no fallback price configured. */
export class UnknownModelError extends Error {
  constructor(readonly model: string) {
    super(
      `The model "${
        model.slice(0, 100)
      }" has no known price, so its cost cannot be counted; add it under "prices" in the limits file, or set QUOTA_FALLBACK_PRICE.`,
    );
    this.name = "UnknownModelError";
  }
}

/** The price of a model, or an UnknownModelError. */
export function requirePrice(prices: PriceTable, model: string): PriceLookup {
  const found = prices.lookup(model);
  if (!found) throw new UnknownModelError(model);
  return found;
}

/** What an admission holds: the most a call can cost. */
export interface CallEstimate {
  inputTokens: number;
  outputTokens: number;
  costNanos: number;
}

/**
 * The most a call can cost: its estimated input plus its output bound (or
 * the configured default), priced as uncached input and full output.
 *
 * @example
 * ```ts
 * estimateCall(found, 1200, 256); // { inputTokens: 1200, outputTokens: 256, costNanos: … }
 * ```
 */
export function estimateCall(
  found: PriceLookup,
  inputTokens: number,
  maxOutputTokens: number,
): CallEstimate {
  const counts: UsageCounts = {
    inputTokens,
    cachedTokens: 0,
    outputTokens: maxOutputTokens,
    reasoningTokens: 0,
  };
  return {
    inputTokens,
    outputTokens: maxOutputTokens,
    costNanos: costNanos(found.price, counts),
  };
}
