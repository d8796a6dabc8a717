/**
 * OpenAI's rate-limit headers, both ways:
 * - reading the provider's `x-ratelimit-*` headers (Go-style durations such
 *   as `12ms`, `6m0s`, `2m30.5s`) into UpstreamQuota fields;
 * - writing OUR `x-ratelimit-*` headers in the same format, for the
 *   caller's tightest limits;
 * - reading `Retry-After` (seconds or HTTP date) and `retry-after-ms`.
 *
 * Missing or malformed values are skipped, never turned into NaN.
 *
 * @module
 */

import type { LimitStatus, Metric, UpstreamQuota } from "../quota/types.ts";

const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
  us: 0.001,
  "µs": 0.001,
  "μs": 0.001,
  ns: 0.000001,
};
const DURATION = /^(?:\d+(?:\.\d+)?(?:h|ms|us|µs|μs|ns|m|s))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|us|µs|μs|ns|m|s)/g;
const NON_NEGATIVE_INT = /^\d+$/;

/**
 * Parses a Go duration (`1s`, `20ms`, `6m0s`, `1m30s`, `2m30.5s`, `0s`,
 * `1h2m3.5s`) into milliseconds; null when malformed. A bare `0` is zero.
 */
export function parseGoDuration(
  text: string | null | undefined,
): number | null {
  if (text === null || text === undefined) return null;
  const value = text.trim();
  if (value === "0") return 0;
  if (!DURATION.test(value)) return null;
  let ms = 0;
  for (const match of value.matchAll(DURATION_PART)) {
    ms += Number(match[1]) * UNIT_MS[match[2]];
  }
  return Number.isFinite(ms) ? ms : null;
}

function parseCount(text: string | null): number | undefined {
  if (text === null) return undefined;
  const value = text.trim();
  if (!NON_NEGATIVE_INT.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The UpstreamQuota fields the provider's headers give (absent ones left out). */
export type UpstreamRateLimitFields = Pick<
  UpstreamQuota,
  | "limitRequests"
  | "remainingRequests"
  | "resetRequestsAt"
  | "limitTokens"
  | "remainingTokens"
  | "resetTokensAt"
>;

/**
 * Reads the provider's `x-ratelimit-*` headers. Reset durations become ISO
 * times from `now` (epoch ms). Returns only the fields that were present and
 * well-formed, so that merging into an earlier UpstreamQuota keeps the rest.
 */
export function parseUpstreamRateLimitHeaders(
  headers: Headers,
  now: number,
): UpstreamRateLimitFields {
  const out: UpstreamRateLimitFields = {};
  const limitRequests = parseCount(headers.get("x-ratelimit-limit-requests"));
  const remainingRequests = parseCount(
    headers.get("x-ratelimit-remaining-requests"),
  );
  const limitTokens = parseCount(headers.get("x-ratelimit-limit-tokens"));
  const remainingTokens = parseCount(
    headers.get("x-ratelimit-remaining-tokens"),
  );
  const resetRequests = parseGoDuration(
    headers.get("x-ratelimit-reset-requests"),
  );
  const resetTokens = parseGoDuration(headers.get("x-ratelimit-reset-tokens"));
  if (limitRequests !== undefined) out.limitRequests = limitRequests;
  if (remainingRequests !== undefined) {
    out.remainingRequests = remainingRequests;
  }
  if (resetRequests !== null) {
    out.resetRequestsAt = new Date(now + Math.ceil(resetRequests))
      .toISOString();
  }
  if (limitTokens !== undefined) out.limitTokens = limitTokens;
  if (remainingTokens !== undefined) out.remainingTokens = remainingTokens;
  if (resetTokens !== null) {
    out.resetTokensAt = new Date(now + Math.ceil(resetTokens)).toISOString();
  }
  return out;
}

function trimFraction(seconds: number): string {
  // Millisecond precision, no trailing zeros: 30.5, 59.451, 3.
  return (Math.round(seconds * 1000) / 1000).toString();
}

/**
 * Formats milliseconds the way OpenAI (Go's Duration.String) does: `0s`,
 * `12ms`, `1s`, `59.451s`, `6m0s`, `2m30.5s`, `1h2m3.5s`. Fractions of a
 * millisecond round up, so a wait is never understated.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0s";
  const total = Math.ceil(ms);
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = (total % 60_000) / 1000;
  if (hours > 0) return `${hours}h${minutes}m${trimFraction(seconds)}s`;
  if (minutes > 0) return `${minutes}m${trimFraction(seconds)}s`;
  return `${trimFraction(seconds)}s`;
}

const TOKEN_METRICS: ReadonlySet<Metric> = new Set([
  "tokens",
  "input_tokens",
  "output_tokens",
]);

/** The limit with the least room left; on a tie, the one that resets last. */
function tightest(statuses: LimitStatus[]): LimitStatus | null {
  let best: LimitStatus | null = null;
  for (const s of statuses) {
    if (best === null || s.remaining < best.remaining) {
      best = s;
      continue;
    }
    if (
      s.remaining === best.remaining && (s.resetAt ?? "") > (best.resetAt ?? "")
    ) {
      best = s;
    }
  }
  return best;
}

function resetIn(status: LimitStatus, now: number): string {
  if (status.resetAt === null) return "0s";
  const at = Date.parse(status.resetAt);
  return Number.isNaN(at) ? "0s" : formatGoDuration(at - now);
}

/**
 * Our `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` headers for
 * the caller's tightest request limit and tightest token limit (any of
 * tokens, input_tokens, output_tokens), in OpenAI's own format. A kind with
 * no limit gets no headers. Dollar limits have no OpenAI header.
 */
export function formatRateLimitHeaders(
  statuses: LimitStatus[],
  now: number,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const requests = tightest(statuses.filter((s) => s.metric === "requests"));
  const tokens = tightest(statuses.filter((s) => TOKEN_METRICS.has(s.metric)));
  for (
    const [kind, status] of [["requests", requests], [
      "tokens",
      tokens,
    ]] as const
  ) {
    if (status === null) continue;
    headers[`x-ratelimit-limit-${kind}`] = String(Math.floor(status.limit));
    headers[`x-ratelimit-remaining-${kind}`] = String(
      Math.max(0, Math.floor(status.remaining)),
    );
    headers[`x-ratelimit-reset-${kind}`] = resetIn(status, now);
  }
  return headers;
}

/**
 * Milliseconds to wait from `retry-after-ms`, else `Retry-After` (seconds
 * or an HTTP date, relative to `now`); null when absent or malformed. A date
 * in the past gives 0.
 */
export function parseRetryAfter(headers: Headers, now: number): number | null {
  const ms = headers.get("retry-after-ms")?.trim();
  if (ms !== undefined && /^\d+(?:\.\d+)?$/.test(ms)) return Number(ms);
  const value = headers.get("retry-after")?.trim();
  if (value === undefined || value === "") return null;
  if (/^\d+(?:\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}
