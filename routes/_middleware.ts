import {
  type Context,
  createNonce,
  CSP_NONCE_KEY,
  withSecurityHeaders,
} from "../lib/fresh/mod.ts";

/**
 * Security headers on every response, with a per-request CSP nonce that the
 * renderer puts on the island boot script. WebSocket upgrades (101) pass
 * through untouched.
 */
export async function handler(ctx: Context): Promise<Response> {
  const nonce = createNonce();
  ctx.state[CSP_NONCE_KEY] = nonce;
  const response = await ctx.next();
  return withSecurityHeaders(response, nonce, ctx.url.host);
}
