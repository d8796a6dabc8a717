import type { Context } from "../../../lib/fresh/types.ts";
import { requireAdmin } from "../../../lib/http/access.ts";
import { domainError, json } from "../../../lib/http/json.ts";
import { readJson } from "../../../lib/http/read_json.ts";
import { openAIError } from "../../../lib/openai/errors.ts";
import type { LimitDefinition } from "../../../lib/quota/types.ts";
import type { AppState } from "../../../lib/state.ts";

async function find(
  ctx: Context<AppState>,
): Promise<LimitDefinition | Response> {
  const id = ctx.params.id;
  const limit = (await ctx.state.services.engine.limits()).find((l) =>
    l.id === id
  );
  if (limit) return limit;
  return openAIError(
    404,
    `No limit has the id "${
      id.slice(0, 200)
    }"; list the limits with GET /api/limits.`,
    { code: "limit_not_found" },
  );
}

function declaredInFile(limit: LimitDefinition): Response {
  return openAIError(
    409,
    `The limit "${limit.id}" is declared in the limits file; change it there and restart.`,
    { code: "file_limit" },
  );
}

/**
 * GET /api/limits/:id: one limit (ids are URL-encoded).
 * PATCH /api/limits/:id {"limit"?, "timeZone"?}: changes a limit made
 * through the API; usage counted so far stays.
 * DELETE /api/limits/:id: removes it.
 */
export const handler = {
  async GET(ctx: Context<AppState>): Promise<Response> {
    const denied = await requireAdmin(ctx.req, ctx.state.services);
    if (denied) return denied;
    const found = await find(ctx);
    return found instanceof Response ? found : json(found);
  },

  async PATCH(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    const found = await find(ctx);
    if (found instanceof Response) return found;
    if (found.source === "file") return declaredInFile(found);
    const body = await readJson(ctx.req, services.config.maxBodyBytes);
    if (!body.ok) return body.response;
    const value = body.value;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return openAIError(
        400,
        'Send a JSON object with the fields to change, such as {"limit": 120}.',
        { code: "invalid_value" },
      );
    }
    const fixed = (["scope", "metric", "window"] as const).find((field) =>
      field in value &&
      (value as Record<string, unknown>)[field] !== found[field]
    );
    if (fixed) {
      return openAIError(
        400,
        `A limit's ${fixed} cannot change, because its id and its usage belong to it; create a new limit and delete this one instead.`,
        { code: "invalid_value", param: fixed },
      );
    }
    if ("id" in value && (value as { id: unknown }).id !== found.id) {
      return openAIError(
        400,
        "A limit's id cannot change; delete it and create a new one instead.",
        { code: "invalid_value", param: "id" },
      );
    }
    try {
      const { source: _source, ...current } = found;
      return json(
        await services.engine.putLimit({ ...current, ...value, id: found.id }),
      );
    } catch (error) {
      return domainError(error);
    }
  },

  async DELETE(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const denied = await requireAdmin(ctx.req, services);
    if (denied) return denied;
    const found = await find(ctx);
    if (found instanceof Response) return found;
    if (found.source === "file") return declaredInFile(found);
    await services.engine.deleteLimit(found.id);
    return json({ id: found.id, deleted: true });
  },
};
