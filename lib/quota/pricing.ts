/**
 * Dollar prices per model and the cost of a call in integer nano-dollars.
 *
 * The price data is npm `@pydantic/genai-prices` (version pinned in
 * deno.json; see PRICE_DATA_SOURCE for its date and origin): a well-kept,
 * community-maintained table that runs under Deno without network access
 * (it only fetches newer data when asked to, which we never do). Overrides
 * from configuration win over it, and an unknown model gets the configured
 * fallback price (flagged) or nothing, never a silent $0.
 *
 * A cost the provider reports itself (some compatible providers send one)
 * never overrides the table, and a reported cost of 0 is ignored: the
 * table is the one source of dollar amounts.
 *
 * @module
 */

import { calcPrice } from "@pydantic/genai-prices";
import type { UsageCounts } from "./types.ts";

/** Where the price data comes from and how recent it is. */
export const PRICE_DATA_SOURCE = {
  package: "@pydantic/genai-prices",
  version: "0.1.8",
  /** When that version was published to npm (its data is at least this recent). */
  date: "2026-09-23",
  url: "https://github.com/pydantic/genai-prices",
  provider: "openai",
} as const;

/** A price band used when a call's input exceeds a size (long-context pricing). */
export interface PriceTier {
  /** The tier applies to the whole call when inputTokens is above this. */
  aboveInputTokens: number;
  input: number;
  cachedInput: number;
  output: number;
}

/** A model's price in US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  /** Price of cached input tokens; equal to `input` when the model has no cache discount. */
  cachedInput: number;
  /** Price of output tokens, reasoning included; 0 for embeddings. */
  output: number;
  tiers?: PriceTier[];
}

/** The answer of a lookup. */
export interface PriceLookup {
  price: ModelPrice;
  /** True when the model is unknown and the fallback price was used: flag the usage record. */
  fallback: boolean;
  /** The price entry that matched (e.g. `gpt-4.1-mini` for `gpt-4.1-mini-2025-04-14`). */
  matched: string;
  source: "override" | "package" | "fallback";
}

/** A price table. */
export interface PriceTable {
  /** The price of a model, or null when unknown and no fallback is configured. */
  lookup(model: string): PriceLookup | null;
}

/** Options of createPriceTable. */
export interface PriceTableOptions {
  /** Prices from configuration, by model name; they win over the package data. */
  overrides?: Record<string, ModelPrice>;
  /** The price for unknown models; null (the default) makes them unknown. */
  fallback?: ModelPrice | null;
}

// Lookups are cached; the bound keeps arbitrary model names from growing memory.
const CACHE_LIMIT = 1_000;
const SNAPSHOT_SUFFIX = /(?:-\d{4}-\d{2}-\d{2}|-\d{4}|:\d{8}-v\d+)$/;

/**
 * The undated name of a model snapshot: `gpt-4.1-mini-2025-04-14` →
 * `gpt-4.1-mini`, `gpt-4-0613` → `gpt-4`,
 * `gpt-3.5-turbo-instruct:20230824-v2` → `gpt-3.5-turbo-instruct`; other
 * names unchanged.
 */
export function baseModelName(model: string): string {
  return model.replace(SNAPSHOT_SUFFIX, "");
}

function validPrice(price: ModelPrice, label: string): ModelPrice {
  for (const key of ["input", "cachedInput", "output"] as const) {
    const value = price[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `The price of ${label} has an invalid '${key}' (${value}); prices are US dollars per million tokens, zero or more.`,
      );
    }
  }
  return price;
}

type PackagePrice = number | {
  base: number;
  tiers: { start: number; price: number }[];
} | undefined;

function baseOf(value: PackagePrice): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === "number" ? value : value.base;
}

function tierPrice(value: PackagePrice, start: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return value;
  let price = value.base;
  for (const tier of value.tiers) if (start > tier.start) price = tier.price;
  return price;
}

/** Converts the package's per-million prices to ours; null when it has no token price. */
function fromPackage(raw: Record<string, unknown>): ModelPrice | null {
  const input = raw.input_mtok as PackagePrice;
  const cached = raw.cache_read_mtok as PackagePrice;
  const output = raw.output_mtok as PackagePrice;
  const inputBase = baseOf(input);
  if (inputBase === undefined) return null;
  const price: ModelPrice = {
    input: inputBase,
    cachedInput: baseOf(cached) ?? inputBase,
    output: baseOf(output) ?? 0,
  };
  const starts = new Set<number>();
  for (const value of [input, cached, output]) {
    if (value !== undefined && typeof value !== "number") {
      for (const tier of value.tiers) starts.add(tier.start);
    }
  }
  if (starts.size > 0) {
    price.tiers = [...starts].sort((a, b) => a - b).map((start) => {
      const tierInput = tierPrice(input, start + 1) ?? inputBase;
      return {
        aboveInputTokens: start,
        input: tierInput,
        cachedInput: tierPrice(cached, start + 1) ?? tierInput,
        output: tierPrice(output, start + 1) ?? 0,
      };
    });
  }
  return price;
}

function packageLookup(
  model: string,
): { price: ModelPrice; matched: string } | null {
  let result;
  try {
    result = calcPrice({ input_tokens: 0 }, model, {
      providerId: PRICE_DATA_SOURCE.provider,
    });
  } catch {
    return null;
  }
  if (!result) return null;
  const price = fromPackage(result.model_price as Record<string, unknown>);
  return price ? { price, matched: result.model.id } : null;
}

/**
 * Creates a price table: overrides (exact name, then the undated name), then
 * the package data (exact name first, then the undated name), then the
 * fallback.
 *
 * @example
 * ```ts
 * const prices = createPriceTable({ overrides: config.prices, fallback: null });
 * const found = prices.lookup("gpt-4.1-mini-2025-04-14");
 * if (!found) return notFound("The model 'x' has no price ...", { code: "model_not_found", param: "model" });
 * const nanos = costNanos(found.price, usage);
 * ```
 */
export function createPriceTable(options: PriceTableOptions = {}): PriceTable {
  const overrides = new Map<string, ModelPrice>();
  for (const [name, price] of Object.entries(options.overrides ?? {})) {
    overrides.set(name.toLowerCase(), validPrice(price, `'${name}'`));
  }
  const fallback = options.fallback
    ? validPrice(options.fallback, "the fallback model")
    : null;
  const cache = new Map<string, PriceLookup | null>();

  const resolve = (model: string): PriceLookup | null => {
    const name = model.trim().toLowerCase();
    const base = baseModelName(name);
    for (const candidate of [name, base]) {
      const price = overrides.get(candidate);
      if (price) {
        return {
          price,
          fallback: false,
          matched: candidate,
          source: "override",
        };
      }
    }
    for (const candidate of name === base ? [name] : [name, base]) {
      const found = packageLookup(candidate);
      if (found) return { ...found, fallback: false, source: "package" };
    }
    if (fallback) {
      return {
        price: fallback,
        fallback: true,
        matched: "fallback",
        source: "fallback",
      };
    }
    return null;
  };

  return {
    lookup(model: string): PriceLookup | null {
      const cached = cache.get(model);
      if (cached !== undefined) return cached;
      const found = resolve(model);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(model, found);
      return found;
    },
  };
}

// Prices are dollars per million tokens; one dollar per million tokens is
// 1,000 nano-dollars per token. Prices are scaled to micro-dollars per
// million tokens (integers for any price with at most six decimals), so the
// sum is exact and rounded once.
const MICROS = 1_000_000;

function scaled(price: number): number {
  return Math.round(price * MICROS);
}

/**
 * The cost of a call in integer nano-dollars: uncached input at the input
 * price, cached input at the cached price, output (reasoning included, so
 * billed once) at the output price. Long-context tiers apply to the whole
 * call when its input is above their threshold.
 */
export function costNanos(price: ModelPrice, counts: UsageCounts): number {
  let band: { input: number; cachedInput: number; output: number } = price;
  for (const tier of price.tiers ?? []) {
    if (counts.inputTokens > tier.aboveInputTokens) band = tier;
  }
  const cached = Math.min(counts.cachedTokens, counts.inputTokens);
  const uncached = counts.inputTokens - cached;
  const micros = uncached * scaled(band.input) +
    cached * scaled(band.cachedInput) +
    counts.outputTokens * scaled(band.output);
  return Math.round(micros / 1_000);
}
