import type { Context } from "../../../lib/fresh/types.ts";
import { domainError, json } from "../../../lib/http/json.ts";
import { readKeyedRequest } from "../../../lib/http/keyed_request.ts";
import { refusalResponse } from "../../../lib/openai/refusal_response.ts";
import { formatRateLimitHeaders } from "../../../lib/openai/rate_limit_headers.ts";
import { estimateCall, requirePrice } from "../../../lib/quota/billing.ts";
import {
  keyScopedId,
  parseCheckRequest,
} from "../../../lib/quota/usage_report.ts";
import type { CallEstimate } from "../../../lib/quota/billing.ts";
import { openAIError } from "../../../lib/openai/errors.ts";
import type { AppState } from "../../../lib/state.ts";

/**
 * POST /api/quota/check: admission for a call the client makes to the
 * provider itself. On 200 the estimate is held under `reservation_id` until it
 * is settled by POST /api/quota/usage, released by POST /api/quota/release,
 * or its lease runs out. Over a limit: 429 in OpenAI's shape, and nothing is
 * held.
 */
export const handler = {
  async POST(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const read = await readKeyedRequest(
      ctx.req,
      services,
      parseCheckRequest,
      "ask admission",
    );
    if (read instanceof Response) return read;
    const { key, request } = read;
    try {
      const found = requirePrice(services.prices, request.model);
      const estimate = estimateCall(
        found,
        request.inputTokens,
        request.maxOutputTokens ?? services.config.defaultMaxOutputTokens,
      );
      const clientId = request.reservationId ?? crypto.randomUUID();
      const reservationId = keyScopedId(key, clientId);
      const held = await services.store.getReservation(reservationId);
      if (
        held &&
        !sameEstimate(
          held.meta.estimate,
          estimate,
          request.model,
          held.meta.model,
        )
      ) {
        return openAIError(
          409,
          `The reservation_id "${clientId}" already holds another estimate; use a new id for a new call (a retry must send the same model and counts).`,
          { code: "reservation_conflict", param: "reservation_id" },
        );
      }
      const admission = await services.engine.admit({
        key,
        model: request.model,
        estimate,
        reservationId,
      });
      if (!admission.ok) return refusalResponse(admission, services.clock());
      return json(
        {
          allowed: true,
          reservation_id: clientId,
          lease_expires_at: new Date(
            services.clock() + services.leaseMs,
          ).toISOString(),
          reserved: {
            requests: 1,
            input_tokens: estimate.inputTokens,
            output_tokens: estimate.outputTokens,
            cost_usd: estimate.costNanos / 1e9,
          },
          limits: admission.limits,
        },
        200,
        formatRateLimitHeaders(admission.limits, services.clock()),
      );
    } catch (error) {
      return domainError(error);
    }
  },
};

/** True when a held reservation is the same call (a retry), not a new one. */
function sameEstimate(
  held: unknown,
  estimate: CallEstimate,
  model: string,
  heldModel: unknown,
): boolean {
  const before = held as Partial<CallEstimate> | undefined;
  return heldModel === model && before?.inputTokens === estimate.inputTokens &&
    before?.outputTokens === estimate.outputTokens &&
    before?.costNanos === estimate.costNanos;
}
