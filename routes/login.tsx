import {
  isHttpsRequest,
  safeNextPath,
  sessionCookie,
} from "../lib/dashboard/login.ts";
import { type Context, page, type PageProps } from "../lib/fresh/mod.ts";
import { timingSafeEqual } from "../lib/http/secrets.ts";
import { readBody } from "../lib/http/read_json.ts";
import type { AppState } from "../lib/state.ts";

/** A login form is a few hundred bytes; anything much larger is not one. */
const MAX_FORM_BYTES = 8_192;

interface LoginData {
  error: string | null;
  next: string;
}

function seeOther(location: string, cookie?: string): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  if (cookie) headers.set("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

function form(data: LoginData, status = 200) {
  return page<LoginData>(data, {
    status,
    headers: { "cache-control": "no-store" },
  });
}

/**
 * GET /login: the form for the admin token. POST /login: checks it and sets
 * the login cookie (HttpOnly, SameSite=Strict), then goes back where the
 * browser came from; a wrong token gets the form again with a 401.
 */
export const handler = {
  async GET(ctx: Context<AppState>) {
    const { auth } = ctx.state.services;
    const next = safeNextPath(ctx.url.searchParams.get("next"));
    if (!auth.loginRequired || await auth.canViewDashboard(ctx.req)) {
      return seeOther(next);
    }
    return form({ error: null, next });
  },

  async POST(ctx: Context<AppState>) {
    const { auth, config } = ctx.state.services;
    if (!auth.loginRequired || config.adminToken === null) return seeOther("/");
    // Read with a hard limit: this route is open to anyone.
    const body = await readBody(ctx.req, MAX_FORM_BYTES);
    if (!body.ok) {
      return form({
        error: "That form was too large to be a login; enter only the token.",
        next: "/",
      }, 413);
    }
    const fields = new URLSearchParams(new TextDecoder().decode(body.bytes));
    const next = safeNextPath(fields.get("next")?.toString());
    const token = fields.get("token")?.toString().trim() ?? "";
    if (token === "") {
      return form({
        error:
          "Enter the admin token: the value of QUOTA_ADMIN_TOKEN this server was started with.",
        next,
      }, 401);
    }
    if (!timingSafeEqual(token, config.adminToken)) {
      return form({
        error:
          "That token is not the admin token. Check the value of QUOTA_ADMIN_TOKEN on the server and try again.",
        next,
      }, 401);
    }
    const cookie = sessionCookie(
      await auth.sessionValue(),
      isHttpsRequest(ctx.req),
    );
    return seeOther(next, cookie);
  },
};

/** The login form: one token field, posted here. */
export default function Login({ data }: PageProps<LoginData>) {
  return (
    <main class="page login-page">
      <form method="post" action="/login" class="card login" novalidate>
        <h1>
          <span class="brand-mark" aria-hidden="true" />Quota Monitor
        </h1>
        <p class="muted">
          This dashboard is private. Enter the admin token to see it; the
          browser keeps you signed in with a cookie.
        </p>
        {data.error && (
          <p class="form-error" role="alert" id="login-error">
            {data.error}
          </p>
        )}
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          autofocus
          aria-invalid={data.error ? "true" : undefined}
          aria-describedby={data.error ? "login-error" : undefined}
        />
        <input type="hidden" name="next" value={data.next} />
        <button type="submit" class="primary">Log in</button>
        <p class="muted small">
          For local use without a token, start the server with
          QUOTA_PUBLIC_DASHBOARD=true.
        </p>
      </form>
    </main>
  );
}
