/**
 * JSON responses with the right content type, and the mapping of domain
 * errors to OpenAI-shaped 4xx answers.
 *
 * @module
 */

import { KeyError } from "../key_registry.ts";
import { openAIError } from "../openai/errors.ts";
import { UnknownModelError } from "../quota/billing.ts";
import { QuotaInputError } from "../quota/errors.ts";
import { isStoreUnavailable } from "../store/errors.ts";

/** A JSON response. */
export function json(
  data: unknown,
  status = 200,
  headers?: HeadersInit,
): Response {
  const response = new Response(JSON.stringify(data), { status, headers });
  response.headers.set("content-type", "application/json; charset=utf-8");
  return response;
}

/** Turns a domain error into its 4xx; rethrows anything else (a 500). */
export function domainError(error: unknown): Response {
  if (error instanceof QuotaInputError) {
    return openAIError(400, error.message, {
      type: "invalid_request_error",
      code: error.code,
      param: error.param,
    });
  }
  if (error instanceof UnknownModelError) {
    return openAIError(404, error.message, {
      type: "invalid_request_error",
      code: "model_not_found",
      param: "model",
    });
  }
  if (isStoreUnavailable(error)) return storeUnavailable(error);
  if (error instanceof KeyError) {
    return openAIError(error.status, error.message, {
      type: "invalid_request_error",
      code: error.code,
    });
  }
  throw error;
}

/** The 503 of a store that does not answer (Redis down, fail closed). */
export function storeUnavailable(error: Error): Response {
  return openAIError(
    503,
    `The quota store is unavailable (${
      error.message.replace(/\.$/, "")
    }), so no call can be counted; try again shortly. Operators: check Redis, or set QUOTA_REDIS_FAIL_OPEN=true to admit calls while it is down.`,
    {
      type: "server_error",
      code: "store_unavailable",
      headers: { "retry-after": "1" },
    },
  );
}

/**
 * Runs a route; a store that does not answer becomes a 503 instead of a 500,
 * wherever in the route it was noticed.
 */
export async function guardStore(
  next: () => Promise<Response>,
): Promise<Response> {
  try {
    return await next();
  } catch (error) {
    if (isStoreUnavailable(error)) return storeUnavailable(error);
    throw error;
  }
}
