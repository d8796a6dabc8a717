/**
 * Who is calling the REST API: an admin (or a dashboard viewer), or a
 * virtual key acting for itself. Routes use this to scope what they show and
 * accept.
 *
 * @module
 */

import { openAIError } from "../openai/errors.ts";
import type { Services } from "../services.ts";
import { bearerToken } from "./secrets.ts";

/** The caller of a REST route. */
export type Caller =
  | { kind: "admin" }
  | { kind: "viewer" }
  | { kind: "key"; key: string };

/** Identifies the caller, or null when the request carries no valid credentials. */
export async function identifyCaller(
  req: Request,
  services: Services,
): Promise<Caller | null> {
  if (await services.auth.isAdmin(req)) return { kind: "admin" };
  const token = bearerToken(req);
  if (token !== null) {
    const key = await services.keys.resolve(token);
    if (key) return { kind: "key", key: key.name };
  }
  if (await services.auth.canViewDashboard(req)) return { kind: "viewer" };
  return null;
}

/** The 401 for a request without valid credentials. */
export function unauthorized(): Response {
  return openAIError(
    401,
    "This route needs credentials: send Authorization: Bearer <admin token>, or a virtual key for its own usage, or log in at /login.",
    {
      type: "invalid_request_error",
      code: "invalid_api_key",
      headers: { "www-authenticate": 'Bearer realm="quota-monitor"' },
    },
  );
}

/** The 403 for a caller that may not touch what it asked for. */
export function forbidden(message: string): Response {
  return openAIError(403, message, {
    type: "invalid_request_error",
    code: "forbidden",
  });
}

/**
 * Requires the admin token; returns the error response or null. A virtual
 * key gets 403 (valid, but not allowed); anything else 401.
 */
export async function requireAdmin(
  req: Request,
  services: Services,
): Promise<Response | null> {
  if (await services.auth.isAdmin(req)) return null;
  const token = bearerToken(req);
  if (token !== null && await services.keys.resolve(token)) {
    return forbidden(
      "This route needs the admin token (QUOTA_ADMIN_TOKEN) as Authorization: Bearer <token>; a virtual key cannot use it.",
    );
  }
  return unauthorized();
}

/**
 * The key a call acts for: the one named in the body, or the caller's own.
 * The admin must name one; a virtual key may only act for itself; the key
 * must exist and be live. Returns the key name or the 4xx to send.
 *
 * @param action what the caller does, for the messages ("report usage")
 */
export async function keyToActFor(
  caller: Caller,
  named: string | undefined,
  services: Services,
  action: string,
): Promise<string | Response> {
  const key = named ?? (caller.kind === "key" ? caller.key : null);
  if (key === null) {
    return openAIError(
      400,
      `To ${action} with the admin token, name the "key" it is for.`,
      { code: "missing_required_parameter", param: "key" },
    );
  }
  if (caller.kind === "key" && key !== caller.key) {
    return forbidden(
      `A virtual key may only ${action} for itself; this key is "${caller.key}".`,
    );
  }
  if (!(await services.keys.exists(key))) {
    return openAIError(
      404,
      `No live key is named "${key}"; create it with POST /api/keys or check the spelling.`,
      { code: "key_not_found", param: "key" },
    );
  }
  return key;
}
