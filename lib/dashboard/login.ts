/**
 * The dashboard login's cookie and redirect rules, as pure functions the
 * /login and /logout routes share.
 *
 * @module
 */

import { SESSION_COOKIE, SESSION_MAX_AGE_SECONDS } from "../http/auth.ts";

/**
 * True when the browser reached us over https: the URL's scheme, or the
 * X-Forwarded-Proto of a TLS-terminating proxy. Believing the header can at
 * worst add Secure to a cookie on plain http, which only stops that browser
 * from keeping it.
 */
export function isHttpsRequest(req: Request): boolean {
  if (new URL(req.url).protocol === "https:") return true;
  const forwarded = req.headers.get("x-forwarded-proto")?.split(",")[0]
    ?.trim().toLowerCase();
  return forwarded === "https";
}

/** The Set-Cookie value that logs a browser in. */
export function sessionCookie(value: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MAX_AGE_SECONDS}${
    secure ? "; Secure" : ""
  }`;
}

/** The Set-Cookie value that logs a browser out. */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${
    secure ? "; Secure" : ""
  }`;
}

/**
 * Where to go after logging in: a path on this site from `?next=`, or "/".
 * Anything that could leave the site (`//host`, `/\host`, a scheme) is "/".
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//")) return "/";
  if (/[\\\s]/.test(next) || next.length > 512) return "/";
  return next;
}
