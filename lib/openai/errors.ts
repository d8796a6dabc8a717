/**
 * Error responses in OpenAI's own shape, so that the official SDKs surface
 * them as the right error class (`BadRequestError`, `AuthenticationError`,
 * `RateLimitError`, ...) with `code`, `type` and `param` filled in.
 *
 * Every body is `{"error":{"message","type","code","param"}}` with
 * `content-type: application/json`.
 *
 * @module
 */

/** The JSON body OpenAI sends with every error. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    code: string | null;
    param: string | null;
  };
}

/** Optional parts of an error beyond its status and message. */
export interface OpenAIErrorOptions {
  /** OpenAI's `error.type`; `invalid_request_error` by default. */
  type?: string;
  code?: string | null;
  param?: string | null;
  /** Extra response headers (Retry-After, x-ratelimit-*, ...). */
  headers?: HeadersInit;
}

const JSON_CONTENT_TYPE = "application/json";

/** Builds the error body without a Response, for logs and WebSocket messages. */
function openAIErrorBody(
  message: string,
  options: Omit<OpenAIErrorOptions, "headers"> = {},
): OpenAIErrorBody {
  return {
    error: {
      message,
      type: options.type ?? "invalid_request_error",
      code: options.code ?? null,
      param: options.param ?? null,
    },
  };
}

/**
 * An OpenAI-shaped error Response.
 *
 * @example
 * ```ts
 * return openAIError(400, "Missing required parameter: 'messages'.", {
 *   code: "missing_required_parameter",
 *   param: "messages",
 * });
 * ```
 */
export function openAIError(
  status: number,
  message: string,
  options: OpenAIErrorOptions = {},
): Response {
  const headers = new Headers(options.headers);
  headers.set("content-type", JSON_CONTENT_TYPE);
  return new Response(JSON.stringify(openAIErrorBody(message, options)), {
    status,
    headers,
  });
}

/** 400 for a request the caller must fix before retrying. */
export function invalidRequest(
  message: string,
  options: { param?: string | null; code?: string | null } = {},
): Response {
  return openAIError(400, message, {
    type: "invalid_request_error",
    code: options.code ?? null,
    param: options.param ?? null,
  });
}

/** 401 for a missing or unknown virtual key; the SDK raises AuthenticationError. */
export function authenticationError(
  message =
    "The API key is missing or not valid. Send your Quota Monitor virtual key as 'Authorization: Bearer <key>'.",
): Response {
  return openAIError(401, message, {
    type: "invalid_request_error",
    code: "invalid_api_key",
  });
}

/** 404, e.g. for an unknown model (`code: "model_not_found"`, `param: "model"`). */
export function notFound(
  message: string,
  options: { code?: string | null; param?: string | null } = {},
): Response {
  return openAIError(404, message, {
    type: "invalid_request_error",
    code: options.code ?? "not_found",
    param: options.param ?? null,
  });
}

/** 413 for a body above the configured size limit. */
export function tooLarge(maxBytes: number): Response {
  return openAIError(
    413,
    `The request body is larger than the gateway accepts (${maxBytes} bytes). Send a smaller request or raise the limit in the gateway's configuration.`,
    { type: "invalid_request_error", code: "request_too_large" },
  );
}

/** Options of a 429 refusal. */
export interface RateLimitedOptions {
  /** Milliseconds until the call could be admitted; sent as Retry-After (whole seconds, rounded up) and retry-after-ms. */
  retryAfterMs?: number | null;
  /** OpenAI uses `tokens` or `requests`; we also say `cost` for dollar limits. */
  type?: string;
  /** Extra headers, typically the x-ratelimit-* set from formatRateLimitHeaders. */
  headers?: HeadersInit;
}

/**
 * 429 with `code: "rate_limit_exceeded"`: the SDK raises RateLimitError and
 * honours `retry-after-ms` / `Retry-After` for its own retries.
 */
export function rateLimited(
  message: string,
  options: RateLimitedOptions = {},
): Response {
  const headers = new Headers(options.headers);
  const retryAfterMs = options.retryAfterMs;
  if (
    retryAfterMs !== undefined && retryAfterMs !== null &&
    Number.isFinite(retryAfterMs) && retryAfterMs >= 0
  ) {
    headers.set("retry-after", String(Math.ceil(retryAfterMs / 1000)));
    headers.set("retry-after-ms", String(Math.ceil(retryAfterMs)));
  }
  return openAIError(429, message, {
    type: options.type ?? "requests",
    code: "rate_limit_exceeded",
    headers,
  });
}

/**
 * 502 (the provider failed or answered something unusable) or 504 (it did
 * not answer in time). `type: "api_error"` so that clients treat it like a
 * provider fault, which the SDK retries.
 */
export function gatewayError(
  status: 502 | 504,
  message?: string,
): Response {
  const fallback = status === 504
    ? "The provider did not answer in time. Try again later; if it keeps happening, check the provider's status or raise the gateway's upstream timeout."
    : "The provider could not be reached or sent an invalid answer. Try again later; if it keeps happening, check UPSTREAM_BASE_URL and the provider's status.";
  return openAIError(status, message ?? fallback, {
    type: "api_error",
    code: status === 504 ? "upstream_timeout" : "upstream_error",
  });
}
