import {
  clearedSessionCookie,
  isHttpsRequest,
} from "../lib/dashboard/login.ts";
import type { Context } from "../lib/fresh/types.ts";
import type { AppState } from "../lib/state.ts";

/**
 * POST /logout: clears the login cookie and goes back to the login form (or
 * to the dashboard when it is public). POST only, so a link on another site
 * cannot log anyone out.
 */
export const handler = {
  POST(ctx: Context<AppState>): Response {
    const { auth } = ctx.state.services;
    return new Response(null, {
      status: 303,
      headers: {
        location: auth.loginRequired ? "/login" : "/",
        "set-cookie": clearedSessionCookie(isHttpsRequest(ctx.req)),
        "cache-control": "no-store",
      },
    });
  },
};
