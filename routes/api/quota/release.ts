import type { Context } from "../../../lib/fresh/types.ts";
import { json } from "../../../lib/http/json.ts";
import { readKeyedRequest } from "../../../lib/http/keyed_request.ts";
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
    const read = await readKeyedRequest(
      ctx.req,
      services,
      parseReleaseRequest,
      "release a reservation",
    );
    if (read instanceof Response) return read;
    const { key, request } = read;
    const released = await services.engine.release(
      keyScopedId(key, request.reservationId),
    );
    return json({ reservation_id: request.reservationId, released });
  },
};
