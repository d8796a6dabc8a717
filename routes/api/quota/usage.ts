import type { Context } from "../../../lib/fresh/types.ts";
import { domainError, json } from "../../../lib/http/json.ts";
import { readKeyedRequest } from "../../../lib/http/keyed_request.ts";
import { identifyCaller, unauthorized } from "../../../lib/http/access.ts";
import { openAIError } from "../../../lib/openai/errors.ts";
import { requirePrice } from "../../../lib/quota/billing.ts";
import { costNanos } from "../../../lib/quota/pricing.ts";
import type { UsageRecord } from "../../../lib/quota/types.ts";
import {
  keyScopedId,
  parseUsageReport,
} from "../../../lib/quota/usage_report.ts";
import type { AppState } from "../../../lib/state.ts";

const HISTORY_MAX_MS = 7 * 24 * 3_600_000;

/**
 * POST /api/quota/usage: usage of a call made directly to the provider,
 * counted once per `id` (a retry never counts twice); with `reservation_id`
 * it settles a reservation taken by /api/quota/check.
 *
 * GET /api/quota/usage?from=ISO&to=ISO: per-minute rollups (for charts) and
 * the most recent calls.
 */
export const handler = {
  async POST(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const read = await readKeyedRequest(
      ctx.req,
      services,
      parseUsageReport,
      "report usage",
    );
    if (read instanceof Response) return read;
    const { key, request: report } = read;
    try {
      const found = requirePrice(services.prices, report.model);
      const record: UsageRecord = {
        id: report.id,
        at: services.clock(),
        key,
        model: report.model,
        endpoint: "report",
        status: report.status,
        ...report.counts,
        costNanos: costNanos(found.price, report.counts),
        latencyMs: report.latencyMs,
        estimated: false,
      };
      if (found.fallback) record.fallbackPrice = true;
      if (report.reservationId !== undefined) {
        // A retry of a settlement that went through answers "duplicate"; a
        // reservation that is gone (its lease ran out) still counts, once.
        const settled = await services.engine.settle(
          keyScopedId(key, report.reservationId),
          record,
        );
        return json(
          {
            id: report.id,
            status: settled ? "recorded" : "duplicate",
            cost_usd: record.costNanos / 1e9,
          },
          settled ? 201 : 200,
        );
      }
      const outcome = await services.engine.report(
        keyScopedId(key, report.id),
        record,
      );
      return json(
        { id: report.id, status: outcome, cost_usd: record.costNanos / 1e9 },
        outcome === "duplicate" ? 200 : 201,
      );
    } catch (error) {
      return domainError(error);
    }
  },

  async GET(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    const caller = await identifyCaller(ctx.req, services);
    if (caller === null) return unauthorized();
    const now = services.clock();
    const params = ctx.url.searchParams;
    const from = params.has("from")
      ? Date.parse(params.get("from")!)
      : now - 3_600_000;
    const to = params.has("to") ? Date.parse(params.get("to")!) : now + 60_000;
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
      return openAIError(
        400,
        "from and to must be ISO times with from before to, such as from=2026-12-01T00:00:00Z.",
        { code: "invalid_value", param: "from" },
      );
    }
    if (to - from > HISTORY_MAX_MS) {
      return openAIError(
        400,
        "Ask for at most 7 days of history at a time.",
        { code: "invalid_value", param: "to" },
      );
    }
    const own = caller.kind === "key" ? caller.key : params.get("key");
    const [rollups, recent] = await Promise.all([
      services.store.listRollups(from, to),
      services.store.listRecent(100),
    ]);
    return json(
      {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        minutes: rollups
          .filter((r) => own === null || r.key === own)
          .map((r) => ({ ...r, minute: new Date(r.minute).toISOString() })),
        recent: recent.filter((r) => own === null || r.key === own).slice(
          0,
          50,
        ),
      },
      200,
      { "cache-control": "no-store" },
    );
  },
};
