/**
 * The Content-Security-Policy of a dashboard page whose API lives on another
 * origin (QUOTA_API_ORIGIN): the default policy, with that origin's http(s)
 * and ws(s) added to connect-src so the page may reach it.
 *
 * @module
 */

import { contentSecurityPolicy, CSP_NONCE_KEY } from "../fresh/csp.ts";
import type { Context } from "../fresh/types.ts";
import type { AppState } from "../state.ts";

/** The socket origin (ws: or wss:) that belongs to an http(s) origin. */
function socketOrigin(origin: string): string {
  const url = new URL(origin);
  return `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`;
}

/**
 * The page's CSP for `apiOrigin`, or null when the API is on the page's own
 * origin (the root middleware's policy already fits then).
 */
export function dashboardCsp(
  nonce: string,
  host: string,
  apiOrigin: string | null,
  pageOrigin: string,
): string | null {
  if (apiOrigin === null || apiOrigin === pageOrigin) return null;
  return contentSecurityPolicy(nonce, host).replace(
    /connect-src ([^;]*)/,
    (_all, sources: string) =>
      `connect-src ${sources} ${apiOrigin} ${socketOrigin(apiOrigin)}`,
  );
}

/**
 * The headers of a dashboard page: never cached (it shows live numbers), and
 * the CSP above when the API is on another origin.
 */
export function dashboardHeaders(
  ctx: Context<AppState>,
  apiOrigin: string | null,
): Record<string, string> {
  const headers: Record<string, string> = { "cache-control": "no-store" };
  const nonce = ctx.state[CSP_NONCE_KEY];
  const csp = typeof nonce === "string"
    ? dashboardCsp(nonce, ctx.url.host, apiOrigin, ctx.url.origin)
    : null;
  if (csp !== null) headers["content-security-policy"] = csp;
  return headers;
}
