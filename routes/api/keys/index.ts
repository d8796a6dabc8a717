import type { Context } from "../../../lib/fresh/types.ts";
import { requireAdmin } from "../../../lib/http/access.ts";
import { domainError, json } from "../../../lib/http/json.ts";
import { readJson } from "../../../lib/http/read_json.ts";
import { openAIError } from "../../../lib/openai/errors.ts";
import type { AppState } from "../../../lib/state.ts";

/**
 * GET /api/keys: every virtual key (never a secret).
 * POST /api/keys {"name"}: makes a key and answers its secret, once.
 */
export const handler = {
  async GET(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    return json({ keys: await services.keys.list() });
  },

  async POST(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    const body = await readJson(ctx.req, services.config.maxBodyBytes);
    if (!body.ok) return body.response;
    const value = body.value;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return openAIError(
        400,
        'Send a JSON object such as {"name": "team-a"}.',
        {
          code: "invalid_value",
        },
      );
    }
    const extra = Object.keys(value).filter((k) => k !== "name");
    if (extra.length) {
      return openAIError(
        400,
        `Unknown field "${extra[0].slice(0, 40)}"; a key takes only a "name".`,
        { code: "invalid_value", param: extra[0] },
      );
    }
    try {
      const created = await services.keys.create(
        (value as { name?: unknown }).name,
      );
      services.notify();
      return json(
        {
          ...created.key,
          secret: created.secret,
          note:
            "This secret is shown once; store it now. Callers send it as Authorization: Bearer <secret>.",
        },
        201,
        { "cache-control": "no-store" },
      );
    } catch (error) {
      return domainError(error);
    }
  },
};
