/**
 * The Origin check of the WebSocket upgrade. Browsers attach cookies to a
 * cross-site WebSocket handshake and CORS does not apply to it, so without
 * this check any page could read a logged-in user's live quota
 * (cross-site WebSocket hijacking).
 *
 * @module
 */

/** How `isAllowedOrigin` treats the parts a request cannot prove by itself. */
export interface OriginPolicy {
  /**
   * Whether a request with no Origin header is accepted. Browsers always send
   * one on a WebSocket handshake; scripts and servers send none. Pass
   * `authorized` here: a header-less request is then accepted only when it
   * carries valid credentials of its own (a bearer token), which a foreign web
   * page cannot forge. Default false.
   */
  allowMissing?: boolean;
  /**
   * Use X-Forwarded-Proto to learn the scheme the browser used, for a server
   * behind a TLS-terminating proxy. Only set this when such a proxy always
   * sets (or strips) the header; otherwise a client could choose its own
   * scheme. Default false.
   */
  trustForwardedProto?: boolean;
  /** The X-Forwarded-Proto header value, read only when trusted. */
  forwardedProto?: string | null;
}

const WEB_SCHEMES = new Set(["http:", "https:"]);

/**
 * The canonical origin of a URL string (`scheme://host[:port]`, lower case,
 * default port dropped), or null when it is not an http(s) origin.
 */
function canonicalOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (!WEB_SCHEMES.has(url.protocol)) return null;
  return url.origin;
}

/**
 * The origin the browser used to reach this server, from the request URL
 * (Deno builds its host from the Host header), with the scheme taken from
 * X-Forwarded-Proto when the policy trusts it.
 */
export function requestOrigin(
  requestUrl: URL,
  policy: OriginPolicy = {},
): string {
  const forwarded = policy.trustForwardedProto
    ? policy.forwardedProto?.split(",")[0]?.trim().toLowerCase()
    : undefined;
  if (forwarded !== "http" && forwarded !== "https") return requestUrl.origin;
  const url = new URL(requestUrl.href);
  url.protocol = `${forwarded}:`;
  // A proxy that terminated TLS may have passed its Host with no port; the
  // URL parser drops the scheme's default port either way.
  return url.origin;
}

/**
 * Whether a WebSocket handshake's Origin may connect: the same origin as the
 * request (scheme, host and port), or an exact entry of the allowlist (as in
 * CORS_ORIGINS). The header must be exactly what a browser sends: `null`,
 * a trailing slash, a path, userinfo, another scheme or port, or a host that
 * merely starts or ends like an allowed one are refused. Allowlist entries are
 * compared in canonical form (lower-case host, default port dropped); `*` is
 * never a wildcard here.
 *
 * `origin` is the header value, or null when the header is missing, which is
 * accepted only with `policy.allowMissing`.
 *
 * @example
 * ```ts
 * isAllowedOrigin(req.headers.get("origin"), new URL(req.url), ["https://ops.example.com"],
 *   { allowMissing: authorized });
 * ```
 */
export function isAllowedOrigin(
  origin: string | null,
  requestUrl: URL,
  allowlist: string[],
  policy: OriginPolicy = {},
): boolean {
  if (origin === null) return policy.allowMissing === true;
  const canonical = canonicalOrigin(origin);
  // A browser sends the serialized origin exactly; anything else is crafted.
  if (canonical === null || canonical !== origin) return false;
  if (canonical === requestOrigin(requestUrl, policy)) return true;
  return allowlist.some((entry) => allowlistOrigin(entry) === canonical);
}

/**
 * An allowlist entry in canonical form; an entry with a path, query, fragment
 * or userinfo matches nothing (a lone trailing slash is forgiven).
 */
function allowlistOrigin(entry: string): string | null {
  let url: URL;
  try {
    url = new URL(entry.trim());
  } catch {
    return null;
  }
  if (!WEB_SCHEMES.has(url.protocol)) return null;
  if (url.username !== "" || url.password !== "") return null;
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") return null;
  return url.origin;
}
