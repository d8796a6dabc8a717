/**
 * Reads a usage report (POST /api/quota/usage) and an admission request
 * (POST /api/quota/check): strict shapes, whole non-negative token counts
 * within sane bounds, cached within input and reasoning within output.
 * Anything else is refused with a sentence naming the field.
 *
 * @module
 */

import { z } from "zod";
import { normalizeUsage } from "../openai/usage.ts";
import { QuotaInputError } from "./errors.ts";
import { isValidKeyName, isValidModelName } from "./scope.ts";
import type { UsageCounts } from "./types.ts";

/** No single call comes near this many tokens; more is a mistake, refused. */
export const MAX_TOKENS_PER_CALL = 100_000_000;

const COUNT = z.number().int().min(0).max(MAX_TOKENS_PER_CALL);
const ID = z.string().min(1).max(200).regex(
  /^[\x21-\x7e]+$/,
  "use 1 to 200 printable characters without spaces",
);
const KEY = z.string().refine(isValidKeyName, {
  message: "not a key name (letters, digits, '.', '_' or '-', 64 at most)",
});
const MODEL = z.string().refine(isValidModelName, {
  message: "not a model name (1 to 200 printable characters)",
});

const USAGE_REPORT = z.strictObject({
  id: ID,
  key: KEY.optional(),
  model: MODEL,
  reservation_id: ID.optional(),
  input_tokens: COUNT.optional(),
  cached_tokens: COUNT.optional(),
  output_tokens: COUNT.optional(),
  reasoning_tokens: COUNT.optional(),
  usage: z.record(z.string(), z.unknown()).optional(),
  status: z.number().int().min(100).max(599).optional(),
  latency_ms: z.number().int().min(0).max(86_400_000).optional(),
});

const CHECK_REQUEST = z.strictObject({
  key: KEY.optional(),
  model: MODEL,
  reservation_id: ID.optional(),
  input_tokens: COUNT.optional(),
  max_output_tokens: COUNT.optional(),
});

const RELEASE_REQUEST = z.strictObject({
  key: KEY.optional(),
  reservation_id: ID,
});

/**
 * The id under which a client's reservation or report id is kept: scoped to
 * its key, so two keys may use the same id without touching each other's
 * holds or counts. Key names cannot contain "/", so the join is unambiguous.
 */
export function keyScopedId(key: string, id: string): string {
  return `${key}/${id}`;
}

/** A validated usage report. */
export interface UsageReport {
  id: string;
  key?: string;
  model: string;
  reservationId?: string;
  counts: UsageCounts;
  status: number;
  latencyMs: number;
}

/** A validated admission request. */
export interface CheckRequest {
  key?: string;
  model: string;
  reservationId?: string;
  inputTokens: number;
  /** Null when the caller did not bound its output: the configured default applies. */
  maxOutputTokens: number | null;
}

function refuse(error: z.ZodError): never {
  const issue = error.issues[0];
  const param = issue.path.join(".") || null;
  if (issue.code === "unrecognized_keys") {
    throw new QuotaInputError(
      `Unknown field ${
        issue.keys.map((k) => `"${k.slice(0, 40)}"`).join(", ")
      }; remove it (see /api/openapi.json for the accepted fields).`,
      "invalid_usage",
      issue.keys[0] ?? param,
    );
  }
  throw new QuotaInputError(
    `Invalid ${param ? `"${param}"` : "body"}: ${
      issue.message.replace(/\.$/, "")
    }. Fix it and send the request again.`,
    "invalid_usage",
    param,
  );
}

/**
 * Parses a usage report: flat counts, or the provider's own `usage` object
 * copied from its response (not both).
 *
 * @example
 * ```ts
 * parseUsageReport({ id: "req-1", key: "team-a", model: "gpt-4o-mini",
 *   usage: { prompt_tokens: 1000, completion_tokens: 234, total_tokens: 1234 } });
 * ```
 */
export function parseUsageReport(body: unknown): UsageReport {
  const parsed = USAGE_REPORT.safeParse(body);
  if (!parsed.success) refuse(parsed.error);
  const data = parsed.data;
  const flat = data.input_tokens !== undefined ||
    data.output_tokens !== undefined || data.cached_tokens !== undefined ||
    data.reasoning_tokens !== undefined;
  if (flat && data.usage) {
    throw new QuotaInputError(
      'Send either the flat counts (input_tokens, output_tokens, ...) or the provider\'s "usage" object, not both.',
      "invalid_usage",
      "usage",
    );
  }
  if (!flat && !data.usage) {
    throw new QuotaInputError(
      'A usage report needs counts: input_tokens and output_tokens, or the provider\'s "usage" object.',
      "invalid_usage",
      "input_tokens",
    );
  }
  const raw = data.usage ?? {
    input_tokens: data.input_tokens ?? 0,
    output_tokens: data.output_tokens ?? 0,
    input_tokens_details: { cached_tokens: data.cached_tokens ?? 0 },
    output_tokens_details: { reasoning_tokens: data.reasoning_tokens ?? 0 },
  };
  const normalized = normalizeUsage(raw);
  if (!normalized.ok) {
    throw new QuotaInputError(normalized.error, "invalid_usage", "usage");
  }
  const counts = normalized.usage;
  if (
    counts.inputTokens > MAX_TOKENS_PER_CALL ||
    counts.outputTokens > MAX_TOKENS_PER_CALL
  ) {
    throw new QuotaInputError(
      `A call of more than ${MAX_TOKENS_PER_CALL} tokens is not plausible; check the numbers.`,
      "invalid_usage",
      "usage",
    );
  }
  const report: UsageReport = {
    id: data.id,
    model: data.model,
    counts,
    status: data.status ?? 200,
    latencyMs: data.latency_ms ?? 0,
  };
  if (data.key !== undefined) report.key = data.key;
  if (data.reservation_id !== undefined) {
    report.reservationId = data.reservation_id;
  }
  return report;
}

/** Parses an admission request for POST /api/quota/check. */
export function parseCheckRequest(body: unknown): CheckRequest {
  const parsed = CHECK_REQUEST.safeParse(body);
  if (!parsed.success) refuse(parsed.error);
  const data = parsed.data;
  const request: CheckRequest = {
    model: data.model,
    inputTokens: data.input_tokens ?? 0,
    maxOutputTokens: data.max_output_tokens ?? null,
  };
  if (data.key !== undefined) request.key = data.key;
  if (data.reservation_id !== undefined) {
    request.reservationId = data.reservation_id;
  }
  return request;
}

/** Parses a release request for POST /api/quota/release. */
export function parseReleaseRequest(
  body: unknown,
): { key?: string; reservationId: string } {
  const parsed = RELEASE_REQUEST.safeParse(body);
  if (!parsed.success) refuse(parsed.error);
  const request: { key?: string; reservationId: string } = {
    reservationId: parsed.data.reservation_id,
  };
  if (parsed.data.key !== undefined) request.key = parsed.data.key;
  return request;
}
