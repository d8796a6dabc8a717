/**
 * Our own over-limit answer: a 429 in OpenAI's shape (code
 * rate_limit_exceeded, the limit named in the message), Retry-After, and
 * x-ratelimit-* headers in OpenAI's format, so that the official SDKs raise a
 * RateLimitError and back off correctly.
 *
 * @module
 */

import type { LimitStatus } from "../quota/types.ts";
import { rateLimited } from "./errors.ts";
import { formatRateLimitHeaders } from "./rate_limit_headers.ts";

/** The parts of a refused admission this response needs. */
export interface Refusal {
  limit: LimitStatus;
  retryAfterMs: number;
  message: string;
}

/** The 429 for a refused admission. */
export function refusalResponse(refusal: Refusal, now: number): Response {
  const headers = formatRateLimitHeaders([refusal.limit], now);
  // The SDK retries 429s on its own; a refusal that cannot pass within a
  // minute (a daily budget, say) should surface at once instead.
  if (refusal.retryAfterMs > 60_000) headers["x-should-retry"] = "false";
  return rateLimited(refusal.message, {
    retryAfterMs: refusal.retryAfterMs,
    type: refusal.limit.metric === "requests" ? "requests" : "tokens",
    headers,
  });
}
