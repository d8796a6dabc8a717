import type { Context } from "../../../lib/fresh/types.ts";
import {
  forbidden,
  identifyCaller,
  unauthorized,
} from "../../../lib/http/access.ts";
import { json } from "../../../lib/http/json.ts";
import type { AppState } from "../../../lib/state.ts";

/**
 * GET /api/quota/status[?key=NAME]: the status of every scope and limit (or of
 * one key's scopes and the gateway). A virtual key sees only its own.
 */
export const handler = {
  async GET(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const caller = await identifyCaller(ctx.req, services);
    if (caller === null) return unauthorized();
    let key = ctx.url.searchParams.get("key") ?? undefined;
    if (caller.kind === "key") {
      if (key !== undefined && key !== caller.key) {
        return forbidden(
          `A virtual key may only see its own status; ask for key=${caller.key} or use the admin token.`,
        );
      }
      key = caller.key;
    }
    const status = await services.engine.status(key ? { key } : undefined);
    return json(status, 200, { "cache-control": "no-store" });
  },
};
