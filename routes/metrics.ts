import type { Context } from "../lib/fresh/types.ts";
import { requireAdmin } from "../lib/http/access.ts";
import type { AppState } from "../lib/state.ts";

/** GET /metrics: Prometheus text format (admin token when one is set). */
export const handler = {
  async GET(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    return new Response(services.metrics.render(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  },
};
