import type { Context } from "../../lib/fresh/types.ts";
import { apiMiddleware } from "../../lib/http/api_middleware.ts";
import type { AppState } from "../../lib/state.ts";

/** CORS for browser apps calling the proxy (CORS_ORIGINS), store errors as 503, JSON 404 and 405. */
export const handler = (ctx: Context<AppState>): Promise<Response> =>
  apiMiddleware(ctx, ctx.state.services.config.corsOrigins);
