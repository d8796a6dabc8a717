/**
 * CORS for front ends on other origins: an exact-match allowlist, the allowed
 * origin echoed with `Vary: Origin`, never `*`. Preflights are answered before
 * authentication and are never counted against any limit.
 *
 * @module
 */

import { openAIError } from "../openai/errors.ts";

const ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS";
const EXPOSED_HEADERS = [
  "retry-after",
  "retry-after-ms",
  "x-should-retry",
  "x-request-id",
  "x-ratelimit-limit-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-requests",
  "x-ratelimit-reset-tokens",
].join(", ");
const PREFLIGHT_MAX_AGE_SECONDS = "600";

/** True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(req: Request): boolean {
  return req.method === "OPTIONS" && req.headers.has("origin") &&
    req.headers.has("access-control-request-method");
}

/** The origin to echo, when the request's Origin is on the allowlist. */
export function allowedOrigin(
  req: Request,
  allowlist: readonly string[],
): string | null {
  const origin = req.headers.get("origin");
  if (origin === null) return null;
  return allowlist.includes(origin) ? origin : null;
}

/** Answers a preflight: 204 with the CORS grant for allowed origins, 403 otherwise. */
export function preflightResponse(
  req: Request,
  allowlist: readonly string[],
): Response {
  const origin = allowedOrigin(req, allowlist);
  if (origin === null) {
    const response = openAIError(
      403,
      `The origin ${
        req.headers.get("origin")
      } is not allowed; add it to CORS_ORIGINS (exact scheme, host and port) and restart.`,
      { type: "invalid_request_error", code: "origin_not_allowed" },
    );
    response.headers.set("vary", "Origin");
    return response;
  }
  return new Response(null, {
    status: 204,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers":
        req.headers.get("access-control-request-headers") ??
          "authorization, content-type",
      "access-control-max-age": PREFLIGHT_MAX_AGE_SECONDS,
      "vary":
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    },
  });
}

/** Adds the CORS grant to a response for an allowed origin; always adds `Vary: Origin`. */
export function withCors(
  req: Request,
  response: Response,
  allowlist: readonly string[],
): Response {
  if (response.status === 101) return response;
  const origin = allowedOrigin(req, allowlist);
  response.headers.append("vary", "Origin");
  if (origin === null) return response;
  response.headers.set("access-control-allow-origin", origin);
  // Credentials only ever with one exact origin, never with "*".
  response.headers.set("access-control-allow-credentials", "true");
  response.headers.set("access-control-expose-headers", EXPOSED_HEADERS);
  return response;
}
