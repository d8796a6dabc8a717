/**
 * Who may see the dashboard pages. With an admin token set and the
 * dashboard not public, a browser without the login cookie is sent to
 * /login and comes back afterwards.
 *
 * @module
 */

import type { Context } from "../fresh/types.ts";
import type { AppState } from "../state.ts";

/**
 * Null when the request may see a dashboard page; otherwise the redirect to
 * /login (303, with `next` naming the page asked for).
 */
export async function dashboardGate(
  ctx: Context<AppState>,
): Promise<Response | null> {
  const { auth } = ctx.state.services;
  if (await auth.canViewDashboard(ctx.req)) return null;
  const next = `${ctx.url.pathname}${ctx.url.search}`;
  const location = next === "/"
    ? "/login"
    : `/login?next=${encodeURIComponent(next)}`;
  return new Response(null, {
    status: 303,
    headers: { location, "cache-control": "no-store" },
  });
}
