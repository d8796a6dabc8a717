import QuotaMonitor from "../islands/QuotaMonitor.tsx";
import { dashboardGate } from "../lib/dashboard/access.ts";
import type { RollupLike } from "../lib/dashboard/chart.ts";
import { dashboardHeaders } from "../lib/dashboard/csp.ts";
import { formatClock } from "../lib/dashboard/format.ts";
import {
  type Context,
  HttpError,
  page,
  type PageProps,
} from "../lib/fresh/mod.ts";
import type { QuotaStatus } from "../lib/quota/types.ts";
import { isStoreUnavailable } from "../lib/store/errors.ts";
import type { AppState } from "../lib/state.ts";

const HOUR_MS = 3_600_000;

interface DashboardData {
  status: QuotaStatus;
  minutes: RollupLike[];
  renderedAt: number;
  apiOrigin: string | null;
  loginRequired: boolean;
}

/**
 * GET /: the dashboard. The first HTML holds the current status (the same
 * code path as GET /api/quota/status) and the last hour of usage; the island
 * keeps both live over the WebSocket.
 */
export const handler = {
  async GET(ctx: Context<AppState>) {
    const gate = await dashboardGate(ctx);
    if (gate) return gate;
    const { services } = ctx.state;
    const now = services.clock();
    // The same code path as GET /api/quota/status and the socket's snapshot.
    const [status, rollups] = await Promise.all([
      services.engine.status(),
      services.store.listRollups(now - HOUR_MS, now + 60_000),
    ]).catch((error) => {
      if (!isStoreUnavailable(error)) throw error;
      throw new HttpError(
        503,
        "The quota store does not answer right now (Redis down?), so there are no numbers to show. Reload in a moment; the server log says more.",
      );
    });
    const apiOrigin = services.config.apiOrigin;
    return page<DashboardData>({
      status,
      minutes: rollups.map((r) => ({
        minute: r.minute,
        requests: r.requests,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        costNanos: r.costNanos,
      })),
      renderedAt: now,
      apiOrigin,
      loginRequired: services.auth.loginRequired,
    }, { headers: dashboardHeaders(ctx, apiOrigin) });
  },
};

/** The dashboard: the status in the first HTML, kept live by the island. */
export default function Dashboard({ data }: PageProps<DashboardData>) {
  return (
    <>
      <noscript>
        <p class="noscript-banner">
          JavaScript is off, so this is a snapshot from{" "}
          {formatClock(data.status.generatedAt)}; reload the page for newer
          numbers.
        </p>
      </noscript>
      <QuotaMonitor
        initial={data.status}
        minutes={data.minutes}
        renderedAt={data.renderedAt}
        apiOrigin={data.apiOrigin}
        loginRequired={data.loginRequired}
      />
    </>
  );
}
