/**
 * Who may do what. The admin token (as a bearer token, or the login cookie
 * that the dashboard form sets) opens everything; the dashboard and status can
 * be made public on purpose; a virtual key may see and report its own usage.
 * Without an admin token, admin access is open only while the server listens
 * on loopback (the start refuses anything else).
 *
 * @module
 */

import { bearerToken, timingSafeEqual } from "./secrets.ts";

/** The cookie the dashboard login sets. */
export const SESSION_COOKIE = "qm_session";

const ENCODER = new TextEncoder();

/** Settings the access rules depend on. */
export interface AuthSettings {
  adminToken: string | null;
  publicDashboard: boolean;
}

/** Access checks for one instance. */
export interface Auth {
  /** True when the request carries the admin token or the login cookie (or no token is set). */
  isAdmin(req: Request): Promise<boolean>;
  /** True when the dashboard, the status and the live socket may be shown. */
  canViewDashboard(req: Request): Promise<boolean>;
  /** A new cookie value that proves a login: signed with the token, never the token. */
  sessionValue(): Promise<string>;
  /** True when a login form is needed at all. */
  loginRequired: boolean;
}

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** True when the request was addressed to a loopback name (its Host header). */
export function isLoopbackHost(req: Request): boolean {
  const host = req.headers.get("host") ?? new URL(req.url).host;
  return LOOPBACK_NAMES.has(host.replace(/:\d+$/, "").toLowerCase());
}

/** Reads one cookie from a request. */
function readCookie(req: Request, name: string): string | null {
  const header = req.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) {
      return part.slice(index + 1).trim();
    }
  }
  return null;
}

/** How long a dashboard login lasts. */
export const SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600;
const CLOCK_SKEW_MS = 60_000;

/**
 * Builds the access checks for the given settings.
 *
 * A login cookie is `<issued ms>.<HMAC-SHA256 of it, keyed by the admin
 * token>`: it proves a login without holding the token, expires after
 * SESSION_MAX_AGE_SECONDS, and every login made before the token changes
 * stops working with it.
 */
export function createAuth(
  settings: AuthSettings,
  clock: () => number = Date.now,
): Auth {
  let macKey: Promise<CryptoKey> | null = null;
  const mac = async (issued: number) => {
    macKey ??= crypto.subtle.importKey(
      "raw",
      ENCODER.encode(settings.adminToken ?? ""),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const signature = await crypto.subtle.sign(
      "HMAC",
      await macKey,
      ENCODER.encode(`quota-monitor dashboard session v2 ${issued}`),
    );
    return Array.from(
      new Uint8Array(signature),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  };
  const sessionValue = async () => {
    const issued = clock();
    return `${issued}.${await mac(issued)}`;
  };
  const validSession = async (value: string) => {
    const match = /^(\d{1,15})\.([0-9a-f]{64})$/.exec(value);
    if (!match) return false;
    const issued = Number(match[1]);
    const age = clock() - issued;
    if (age < -CLOCK_SKEW_MS || age > SESSION_MAX_AGE_SECONDS * 1000) {
      return false;
    }
    return timingSafeEqual(match[2], await mac(issued));
  };
  const isAdmin = async (req: Request) => {
    // Without a token the server only listens on loopback (the start refuses
    // anything else); checking Host as well keeps a DNS-rebinding page, which
    // reaches loopback under its own name, out.
    if (settings.adminToken === null) return isLoopbackHost(req);
    const token = bearerToken(req);
    if (token !== null && timingSafeEqual(token, settings.adminToken)) {
      return true;
    }
    const cookie = readCookie(req, SESSION_COOKIE);
    return cookie !== null && await validSession(cookie);
  };
  return {
    isAdmin,
    canViewDashboard: (req) =>
      settings.publicDashboard ? Promise.resolve(true) : isAdmin(req),
    sessionValue,
    loginRequired: settings.adminToken !== null && !settings.publicDashboard,
  };
}
