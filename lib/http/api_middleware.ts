/**
 * The middleware of /api and /v1: CORS preflights are answered before
 * anything else (no authentication, never counted), allowed origins are
 * granted, an unavailable store becomes a 503, and the runtime's plain 404
 * and 405 become JSON in OpenAI's error shape, which API clients expect.
 *
 * @module
 */

import { openAIError } from "../openai/errors.ts";
import { isPreflight, preflightResponse, withCors } from "./cors.ts";
import { guardStore } from "./json.ts";

/** The parts of the request context this middleware uses. */
export interface ApiContext {
  req: Request;
  url: URL;
  destination: string;
  next(): Promise<Response>;
}

function asJsonError(ctx: ApiContext, response: Response): Response {
  if (ctx.destination === "notFound" && response.status === 404) {
    return openAIError(
      404,
      `There is no API route at ${ctx.url.pathname}; see /api/openapi.json for the routes.`,
      { code: "not_found" },
    );
  }
  const type = response.headers.get("content-type") ?? "";
  if (response.status === 405 && !type.startsWith("application/json")) {
    const allow = response.headers.get("allow") ?? "";
    return openAIError(
      405,
      `The method ${ctx.req.method} is not allowed at ${ctx.url.pathname}; use ${
        allow || "another method"
      }.`,
      { code: "method_not_allowed", headers: { allow } },
    );
  }
  return response;
}

/** CORS, store errors and JSON errors for the API routes. */
export async function apiMiddleware(
  ctx: ApiContext,
  allowlist: readonly string[],
): Promise<Response> {
  if (isPreflight(ctx.req)) return preflightResponse(ctx.req, allowlist);
  const response = await guardStore(() => ctx.next());
  return withCors(ctx.req, asJsonError(ctx, response), allowlist);
}
