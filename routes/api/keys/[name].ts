import type { Context } from "../../../lib/fresh/types.ts";
import { requireAdmin } from "../../../lib/http/access.ts";
import { domainError, json } from "../../../lib/http/json.ts";
import { readJson } from "../../../lib/http/read_json.ts";
import { openAIError } from "../../../lib/openai/errors.ts";
import type { AppState } from "../../../lib/state.ts";

/**
 * GET /api/keys/:name: one key.
 * PATCH /api/keys/:name {"rotate": true}: a new secret, shown once.
 * DELETE /api/keys/:name: revokes the key (its history stays).
 */
export const handler = {
  async GET(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    try {
      return json(await services.keys.get(ctx.params.name));
    } catch (error) {
      return domainError(error);
    }
  },

  async PATCH(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    const body = await readJson(ctx.req, services.config.maxBodyBytes);
    if (!body.ok) return body.response;
    const value = body.value as Record<string, unknown> | null;
    if (
      typeof value !== "object" || value === null || Array.isArray(value) ||
      Object.keys(value).some((k) => k !== "rotate") || value.rotate !== true
    ) {
      return openAIError(
        400,
        'To change a key, send {"rotate": true}: it gets a new secret and the old one stops working.',
        { code: "invalid_value", param: "rotate" },
      );
    }
    try {
      const rotated = await services.keys.rotate(ctx.params.name);
      services.notify();
      return json({ ...rotated.key, secret: rotated.secret }, 200, {
        "cache-control": "no-store",
      });
    } catch (error) {
      return domainError(error);
    }
  },

  async DELETE(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    try {
      const revoked = await services.keys.revoke(ctx.params.name);
      services.notify();
      return json(revoked);
    } catch (error) {
      return domainError(error);
    }
  },
};
