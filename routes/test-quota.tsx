import Diagnostics from "../islands/Diagnostics.tsx";
import { dashboardGate } from "../lib/dashboard/access.ts";
import { dashboardHeaders } from "../lib/dashboard/csp.ts";
import { type Context, page, type PageProps } from "../lib/fresh/mod.ts";
import type { AppState } from "../lib/state.ts";

interface DiagnosticsData {
  apiOrigin: string;
  separateApi: boolean;
  allowedOrigins: string[];
  serverSeenOrigin: string;
  loginRequired: boolean;
  renderedAt: number;
  liveClients: number;
  storeKind: string;
}

/**
 * GET /test-quota: connection diagnostics: the socket, a REST round trip,
 * the origins in use and allowed, and what to fix when something fails.
 */
export const handler = {
  async GET(ctx: Context<AppState>) {
    const gate = await dashboardGate(ctx);
    if (gate) return gate;
    const { services } = ctx.state;
    const { config } = services;
    const apiOrigin = config.apiOrigin ?? ctx.url.origin;
    const allowedOrigins = [
      apiOrigin,
      ...config.corsOrigins.filter((o) => o !== apiOrigin),
    ];
    return page<DiagnosticsData>({
      apiOrigin,
      separateApi: config.apiOrigin !== null &&
        config.apiOrigin !== ctx.url.origin,
      allowedOrigins,
      serverSeenOrigin: ctx.url.origin,
      loginRequired: services.auth.loginRequired,
      renderedAt: services.clock(),
      liveClients: services.hub.size,
      storeKind: services.storeKind,
    }, { headers: dashboardHeaders(ctx, config.apiOrigin) });
  },
};

/** /test-quota: checks the live socket and the REST API from this browser. */
export default function TestQuota({ data }: PageProps<DiagnosticsData>) {
  return (
    <>
      <header class="topbar">
        <div class="topbar-inner">
          <a class="brand" href="/">
            <span class="brand-mark" aria-hidden="true" />Quota Monitor
          </a>
          <nav class="topnav" aria-label="Pages">
            <a href="/">Dashboard</a>
          </nav>
        </div>
      </header>
      <main class="page">
        <h1>Connection diagnostics</h1>
        <p class="muted">
          What this browser sees of the live socket and the REST API, and what
          to fix when something fails. The server answered this page with{" "}
          {data.liveClients} live client{data.liveClients === 1 ? "" : "s"}{" "}
          connected and its {data.storeKind} store.
        </p>
        <noscript>
          <p class="noscript-banner">
            These checks run in the browser: turn JavaScript on to run them.
          </p>
        </noscript>
        <Diagnostics
          apiOrigin={data.apiOrigin}
          separateApi={data.separateApi}
          allowedOrigins={data.allowedOrigins}
          serverSeenOrigin={data.serverSeenOrigin}
          loginRequired={data.loginRequired}
          renderedAt={data.renderedAt}
        />
      </main>
    </>
  );
}
