import type { Context } from "../../../lib/fresh/types.ts";
import {
  identifyCaller,
  keyToActFor,
  unauthorized,
} from "../../../lib/http/access.ts";
import { domainError, json } from "../../../lib/http/json.ts";
import { readJson } from "../../../lib/http/read_json.ts";
import {
  keyScopedId,
  parseReleaseRequest,
} from "../../../lib/quota/usage_report.ts";
import type { AppState } from "../../../lib/state.ts";

/**
 * POST /api/quota/release {"reservation_id", "key"?}: frees a reservation
 * whose call never reached the provider. Reservation ids belong to their key;
 * releasing twice, or an id the key does not hold, frees nothing.
 */
export const handler = {
  async POST(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const caller = await identifyCaller(ctx.req, services);
    if (caller === null || caller.kind === "viewer") return unauthorized();
    const body = await readJson(ctx.req, services.config.maxBodyBytes);
    if (!body.ok) return body.response;
    try {
      const request = parseReleaseRequest(body.value);
      const key = await keyToActFor(
        caller,
        request.key,
        services,
        "release a reservation",
      );
      if (key instanceof Response) return key;
      const released = await services.engine.release(
        keyScopedId(key, request.reservationId),
      );
      return json({ reservation_id: request.reservationId, released });
    } catch (error) {
      return domainError(error);
    }
  },
};
