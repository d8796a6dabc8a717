import type { Context } from "../../../lib/fresh/types.ts";
import { handleLiveSocket } from "../../../lib/live/socket_route.ts";
import type { AppState } from "../../../lib/state.ts";

/**
 * GET /api/quota/ws: the live socket. The Origin must be this server's or
 * one of CORS_ORIGINS; the caller needs the dashboard's authorization.
 */
export const handler = {
  async GET(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    return handleLiveSocket(ctx.req, {
      hub: services.hub,
      allowlist: services.config.corsOrigins,
      authorized: await services.auth.canViewDashboard(ctx.req),
      trustForwardedProto: services.config.trustProxy,
    });
  },
};
