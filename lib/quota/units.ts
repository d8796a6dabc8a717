/**
 * Units: users speak dollars, counters speak integer nano-dollars (1e-9 USD),
 * so sums stay exact. Token and request counts are plain integers.
 *
 * @module
 */

import type { Metric } from "./types.ts";

/** Nano-dollars in one dollar. */
export const NANOS_PER_DOLLAR = 1_000_000_000;

/** What one call amounts to, in internal units, before it is split per metric. */
export interface CallAmounts {
  inputTokens: number;
  outputTokens: number;
  costNanos: number;
}

/** Converts a ceiling or count from the metric's user unit to internal units. */
export function toInternal(metric: Metric, value: number): number {
  if (metric === "cost_usd") return Math.round(value * NANOS_PER_DOLLAR);
  return value;
}

/** Converts an internal amount to the metric's user unit (dollars for cost). */
export function toUser(metric: Metric, value: number): number {
  if (metric === "cost_usd") return value / NANOS_PER_DOLLAR;
  return value;
}

/**
 * How much one call counts against a metric, in internal units: a request is
 * 1, `tokens` is input plus output, cost is nano-dollars.
 */
export function metricAmount(metric: Metric, call: CallAmounts): number {
  switch (metric) {
    case "requests":
      return 1;
    case "input_tokens":
      return call.inputTokens;
    case "output_tokens":
      return call.outputTokens;
    case "tokens":
      return call.inputTokens + call.outputTokens;
    case "cost_usd":
      return call.costNanos;
  }
}

const METRIC_NOUNS: Record<Exclude<Metric, "cost_usd">, string> = {
  requests: "requests",
  input_tokens: "input tokens",
  output_tokens: "output tokens",
  tokens: "tokens",
};

/** Formats an amount in user units for a sentence: "$19.87" or "1,200". */
export function formatAmount(metric: Metric, value: number): string {
  if (metric === "cost_usd") return formatDollars(value);
  return Math.round(value).toLocaleString("en-US");
}

/** Formats an amount with its noun: "$19.87" or "1,200 tokens". */
export function formatQuantity(metric: Metric, value: number): string {
  if (metric === "cost_usd") return formatDollars(value);
  return `${formatAmount(metric, value)} ${METRIC_NOUNS[metric]}`;
}

/** Dollars with cents, or more digits for amounts under a cent. */
export function formatDollars(dollars: number): string {
  if (dollars !== 0 && Math.abs(dollars) < 0.01) {
    return `$${Number(dollars.toPrecision(3))}`;
  }
  return `$${
    dollars.toLocaleString("en-US", {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    })
  }`;
}
