import type { Context } from "../../lib/fresh/types.ts";
import type { AppState } from "../../lib/state.ts";

/**
 * /v1/*: the OpenAI-compatible proxy. Every method goes to it; it decides
 * what is accounted by tokens and what passes through as a request.
 */
export const handler = (ctx: Context<AppState>): Promise<Response> =>
  ctx.state.services.proxy(ctx.req, ctx.url);
