/**
 * Tells the provider's error answers apart by `error.code` / `error.type`,
 * never by the status alone: a 429 is either credit exhausted
 * (`insufficient_quota`, never worth retrying) or a rate limit
 * (`rate_limit_exceeded`, type `tokens` or `requests`, retry later).
 *
 * @module
 */

import { parseGoDuration, parseRetryAfter } from "./rate_limit_headers.ts";

/** The kinds of a provider error, as UpstreamQuota.last429 records them. */
export type UpstreamErrorKind =
  | "insufficient_quota"
  | "rate_limit_exceeded"
  | "other";

/** What a provider error means for the gateway. */
export interface UpstreamErrorInfo {
  status: number;
  kind: UpstreamErrorKind;
  message: string;
  type: string | null;
  code: string | null;
  param: string | null;
  /** `tokens` or `requests` for a rate limit, when the provider says. */
  limitType?: string;
  /** From retry-after-ms / Retry-After, else from "Please try again in 250ms." in the message. */
  retryAfterMs?: number;
  /**
   * Whether the same call can succeed later: rate limits (except "Request
   * too large", which never fits), 408, 409 and 5xx. Never insufficient_quota.
   */
  retryable: boolean;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

const TRY_AGAIN =
  /try again in (\d+(?:\.\d+)?(?:h|ms|m|s)(?:\d+(?:\.\d+)?(?:h|ms|m|s))*)/i;
const TOO_LARGE = /request too large/i;

/**
 * Classifies an error answer from the provider.
 *
 * @example
 * ```ts
 * const info = classifyUpstreamError(res.status, await res.text(), res.headers, Date.now());
 * if (info.kind === "insufficient_quota") markCreditExhausted(info.message);
 * ```
 */
export function classifyUpstreamError(
  status: number,
  body: string | unknown,
  headers: Headers = new Headers(),
  now: number = Date.now(),
): UpstreamErrorInfo {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = null;
    }
  }
  const error = isObject(parsed) && isObject(parsed.error) ? parsed.error : {};
  const type = stringOrNull(error.type);
  const code = stringOrNull(error.code);
  const message = stringOrNull(error.message) ??
    `The provider answered with HTTP status ${status} and no error message.`;

  let kind: UpstreamErrorKind = "other";
  if (code === "insufficient_quota" || type === "insufficient_quota") {
    kind = "insufficient_quota";
  } else if (
    code === "rate_limit_exceeded" ||
    (status === 429 && (type === "tokens" || type === "requests"))
  ) {
    kind = "rate_limit_exceeded";
  }

  let retryAfterMs = parseRetryAfter(headers, now) ?? undefined;
  if (retryAfterMs === undefined && kind === "rate_limit_exceeded") {
    const hint = TRY_AGAIN.exec(message);
    const ms = hint ? parseGoDuration(hint[1]) : null;
    if (ms !== null) retryAfterMs = ms;
  }

  const retryable = kind === "rate_limit_exceeded"
    ? !TOO_LARGE.test(message)
    : kind === "other" && (status === 408 || status === 409 || status >= 500);

  const info: UpstreamErrorInfo = {
    status,
    kind,
    message,
    type,
    code,
    param: stringOrNull(error.param),
    retryable,
  };
  if (
    kind === "rate_limit_exceeded" && (type === "tokens" || type === "requests")
  ) {
    info.limitType = type;
  }
  if (retryAfterMs !== undefined) info.retryAfterMs = retryAfterMs;
  return info;
}
