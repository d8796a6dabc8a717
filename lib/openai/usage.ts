/**
 * Reads the provider's `usage` object, in every shape OpenAI sends, into our
 * UsageCounts.
 *
 * Shapes:
 * - chat / legacy completions: `prompt_tokens`, `completion_tokens`,
 *   `prompt_tokens_details.cached_tokens`,
 *   `completion_tokens_details.reasoning_tokens`;
 * - Responses API: `input_tokens`, `output_tokens`,
 *   `input_tokens_details.cached_tokens`,
 *   `output_tokens_details.reasoning_tokens`;
 * - embeddings: `prompt_tokens`, `total_tokens` only.
 *
 * Cached tokens are PART of the input tokens and reasoning tokens PART of the
 * output tokens: they are copied, never added again.
 *
 * @module
 */

import type { UsageCounts } from "../quota/types.ts";

/** The result of reading a usage object: counts, or why they cannot be trusted. */
export type NormalizedUsage =
  | { ok: true; usage: UsageCounts }
  | { ok: false; error: string };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A token count must be a non-negative safe integer; anything else is refused. */
function readCount(
  owner: Json | undefined,
  key: string,
  label: string,
): { ok: true; value: number | undefined } | { ok: false; error: string } {
  if (!owner || !(key in owner)) return { ok: true, value: undefined };
  const value = owner[key];
  if (value === null || value === undefined) {
    return { ok: true, value: undefined };
  }
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < 0
  ) {
    return {
      ok: false,
      error:
        `${label} must be a whole number of tokens, zero or more, but it is ${
          JSON.stringify(value) ?? String(value)
        }.`,
    };
  }
  return { ok: true, value };
}

/**
 * Normalizes a provider usage object into UsageCounts, refusing impossible
 * numbers (negative, fractional, NaN, cached above input, reasoning above
 * output) so that they never reach a limit.
 *
 * @example
 * ```ts
 * normalizeUsage({ prompt_tokens: 1536, completion_tokens: 212,
 *   prompt_tokens_details: { cached_tokens: 1280 } });
 * // { ok: true, usage: { inputTokens: 1536, cachedTokens: 1280, outputTokens: 212, reasoningTokens: 0 } }
 * ```
 */
export function normalizeUsage(raw: unknown): NormalizedUsage {
  if (!isObject(raw)) {
    return { ok: false, error: "The usage is missing or is not an object." };
  }
  const responsesShape = "input_tokens" in raw || "output_tokens" in raw;
  const chatShape = "prompt_tokens" in raw || "completion_tokens" in raw;
  if (!responsesShape && !chatShape) {
    return {
      ok: false,
      error:
        "The usage has neither prompt_tokens/completion_tokens nor input_tokens/output_tokens.",
    };
  }
  const inKey = responsesShape ? "input_tokens" : "prompt_tokens";
  const outKey = responsesShape ? "output_tokens" : "completion_tokens";
  const inDetails = raw[`${inKey}_details`];
  const outDetails = raw[`${outKey}_details`];

  const input = readCount(raw, inKey, inKey);
  if (!input.ok) return input;
  const output = readCount(raw, outKey, outKey);
  if (!output.ok) return output;
  const cached = readCount(
    isObject(inDetails) ? inDetails : undefined,
    "cached_tokens",
    `${inKey}_details.cached_tokens`,
  );
  if (!cached.ok) return cached;
  const reasoning = readCount(
    isObject(outDetails) ? outDetails : undefined,
    "reasoning_tokens",
    `${outKey}_details.reasoning_tokens`,
  );
  if (!reasoning.ok) return reasoning;
  const total = readCount(raw, "total_tokens", "total_tokens");
  if (!total.ok) return total;

  const usage: UsageCounts = {
    inputTokens: input.value ?? 0,
    cachedTokens: cached.value ?? 0,
    outputTokens: output.value ?? 0,
    reasoningTokens: reasoning.value ?? 0,
  };
  // Embeddings report only prompt_tokens and total_tokens.
  if (input.value === undefined && total.value !== undefined) {
    usage.inputTokens = total.value - usage.outputTokens;
  }
  if (usage.inputTokens < 0) {
    return {
      ok: false,
      error: "total_tokens is smaller than the output tokens.",
    };
  }
  if (usage.cachedTokens > usage.inputTokens) {
    return {
      ok: false,
      error:
        `cached_tokens (${usage.cachedTokens}) is larger than the input tokens (${usage.inputTokens}); cached tokens are part of the input.`,
    };
  }
  if (usage.reasoningTokens > usage.outputTokens) {
    return {
      ok: false,
      error:
        `reasoning_tokens (${usage.reasoningTokens}) is larger than the output tokens (${usage.outputTokens}); reasoning tokens are part of the output.`,
    };
  }
  return { ok: true, usage };
}

/** Total tokens of a call: input plus output (cached and reasoning are already inside). */
export function totalTokens(usage: UsageCounts): number {
  return usage.inputTokens + usage.outputTokens;
}
