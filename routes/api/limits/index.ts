import type { Context } from "../../../lib/fresh/types.ts";
import { requireAdmin } from "../../../lib/http/access.ts";
import { domainError, json } from "../../../lib/http/json.ts";
import { readJson } from "../../../lib/http/read_json.ts";
import { openAIError } from "../../../lib/openai/errors.ts";
import { parseLimitInput } from "../../../lib/quota/limits.ts";
import type { AppState } from "../../../lib/state.ts";

/**
 * GET /api/limits: every limit, from the limits file and the admin API.
 * POST /api/limits {scope, metric, window, limit, id?, timeZone?}: adds one.
 */
export const handler = {
  async GET(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    return json({ limits: await services.engine.limits() });
  },

  async POST(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    const body = await readJson(ctx.req, services.config.maxBodyBytes);
    if (!body.ok) return body.response;
    try {
      const wanted = parseLimitInput(body.value, "api");
      const existing = await services.engine.limits();
      if (existing.some((l) => l.id === wanted.id)) {
        return openAIError(
          409,
          `A limit with the id "${wanted.id}" exists already; change it with PATCH /api/limits/${
            encodeURIComponent(wanted.id)
          }, or give the new one its own id.`,
          { code: "limit_exists", param: "id" },
        );
      }
      return json(await services.engine.putLimit(body.value), 201);
    } catch (error) {
      return domainError(error);
    }
  },
};
