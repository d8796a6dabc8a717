import type { Context } from "../../lib/fresh/types.ts";
import { corsMiddleware } from "../../lib/http/cors.ts";
import type { AppState } from "../../lib/state.ts";

/** CORS for front ends on other origins (CORS_ORIGINS). */
export const handler = (ctx: Context<AppState>): Promise<Response> =>
  corsMiddleware(ctx, ctx.state.services.config.corsOrigins);
