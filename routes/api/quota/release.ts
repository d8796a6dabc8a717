import type { Context } from "../../../lib/fresh/types.ts";
import {
  forbidden,
  identifyCaller,
  unauthorized,
} from "../../../lib/http/access.ts";
import { json } from "../../../lib/http/json.ts";
import { readJson } from "../../../lib/http/read_json.ts";
import { openAIError } from "../../../lib/openai/errors.ts";
import type { AppState } from "../../../lib/state.ts";

const RESERVATION_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * POST /api/quota/release {"reservation_id"}: frees a reservation whose call
 * never reached the provider. Releasing twice is harmless.
 */
export const handler = {
  async POST(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const caller = await identifyCaller(ctx.req, services);
    if (caller === null || caller.kind === "viewer") return unauthorized();
    const body = await readJson(ctx.req, services.config.maxBodyBytes);
    if (!body.ok) return body.response;
    const value = body.value as Record<string, unknown> | null;
    const extra = value && typeof value === "object" && !Array.isArray(value)
      ? Object.keys(value).filter((k) => k !== "reservation_id")
      : [];
    const id = value && typeof value === "object"
      ? (value as Record<string, unknown>).reservation_id
      : undefined;
    if (typeof id !== "string" || !RESERVATION_ID.test(id) || extra.length) {
      return openAIError(
        400,
        extra.length
          ? `Unknown field "${
            extra[0].slice(0, 40)
          }"; send only {"reservation_id": "..."}.`
          : 'Send {"reservation_id": "..."} with the id that /api/quota/check returned.',
        { code: "invalid_value", param: extra[0] ?? "reservation_id" },
      );
    }
    const reservation = await services.store.getReservation(id);
    if (
      reservation && caller.kind === "key" &&
      reservation.meta.key !== caller.key
    ) {
      return forbidden(`The reservation ${id} belongs to another key.`);
    }
    const released = await services.engine.release(id);
    return json({ reservation_id: id, released });
  },
};
