/**
 * The handler behind `GET /api/quota/ws`: checks the handshake, then hands
 * the socket to the hub. The route module stays a one-liner around it.
 *
 * @module
 */

import { openAIError } from "../openai/errors.ts";
import type { LiveHub } from "./hub.ts";
import { isAllowedOrigin } from "./origin.ts";

/** What `handleLiveSocket` needs to decide. */
export interface LiveSocketOptions {
  hub: LiveHub;
  /** Exact origins allowed besides the server's own (CORS_ORIGINS). */
  allowlist: string[];
  /** Whether the request carries the dashboard's authorization (or the dashboard is public). */
  authorized: boolean;
  /** Read the scheme from X-Forwarded-Proto (only behind a proxy that sets it). */
  trustForwardedProto?: boolean;
}

interface ErrorFields {
  status: number;
  message: string;
  type: string;
  code: string;
  headers?: Record<string, string>;
}

function errorResponse(fields: ErrorFields): Response {
  return openAIError(fields.status, fields.message, {
    type: fields.type,
    code: fields.code,
    headers: { "cache-control": "no-store", ...fields.headers },
  });
}

function isUpgrade(req: Request): boolean {
  return req.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/**
 * Answers a request to the live socket: 405 for a method other than GET, 400
 * for a plain GET (no `Upgrade: websocket`) or a broken handshake, 403 for an
 * Origin that is neither this server's nor in the allowlist, 401 without
 * authorization (also for a request with no Origin at all, since only
 * authorized scripts may omit it); otherwise upgrades and hands the socket to
 * the hub. A refused request never gets a socket.
 *
 * @example
 * ```ts
 * // routes/api/quota/ws.ts
 * export const handler = { GET: (ctx) => handleLiveSocket(ctx.req, { hub, allowlist, authorized }) };
 * ```
 */
export function handleLiveSocket(
  req: Request,
  opts: LiveSocketOptions,
): Response {
  if (req.method !== "GET") {
    return errorResponse({
      status: 405,
      message:
        `The live quota socket accepts only GET with Upgrade: websocket, not ${req.method}.`,
      type: "invalid_request_error",
      code: "method_not_allowed",
      headers: { allow: "GET" },
    });
  }
  if (!isUpgrade(req)) {
    return errorResponse({
      status: 400,
      message:
        "This is the live quota WebSocket: connect with a WebSocket client (Upgrade: websocket), or use GET /api/quota/status for a one-off status.",
      type: "invalid_request_error",
      code: "websocket_upgrade_required",
      headers: { upgrade: "websocket" },
    });
  }
  const origin = req.headers.get("origin");
  const url = new URL(req.url);
  const originAllowed = isAllowedOrigin(origin, url, opts.allowlist, {
    allowMissing: opts.authorized,
    trustForwardedProto: opts.trustForwardedProto,
    forwardedProto: req.headers.get("x-forwarded-proto"),
  });
  if (!originAllowed && origin !== null) {
    return errorResponse({
      status: 403,
      message:
        `The origin ${origin} may not open the live quota socket; add it to CORS_ORIGINS if it is your front end.`,
      type: "invalid_request_error",
      code: "origin_not_allowed",
    });
  }
  if (!opts.authorized || !originAllowed) {
    return errorResponse({
      status: 401,
      message:
        "The live quota socket needs the dashboard's authorization: log in on the dashboard, or send Authorization: Bearer <admin token>.",
      type: "invalid_request_error",
      code: "invalid_api_key",
      headers: { "www-authenticate": "Bearer" },
    });
  }
  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(req);
  } catch (error) {
    return errorResponse({
      status: 400,
      message: `The WebSocket handshake is invalid (${
        error instanceof Error ? error.message : String(error)
      }); use a standard WebSocket client.`,
      type: "invalid_request_error",
      code: "websocket_handshake_invalid",
    });
  }
  opts.hub.accept(upgraded.socket);
  return upgraded.response;
}
