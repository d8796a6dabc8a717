/**
 * Where the live connection connects: derived from the page's location, or
 * from a configured API origin for a front end hosted elsewhere.
 *
 * @module
 */

/** The parts of `location` the URLs derive from. */
export interface PageLocation {
  protocol: string;
  host: string;
}

function baseUrl(base: string | PageLocation): URL {
  if (typeof base === "string") return new URL(base);
  return new URL(`${base.protocol}//${base.host}`);
}

/**
 * The WebSocket URL for `path` on `base` (an API origin such as
 * `https://quota.example.com`, or the page's location): wss under https, ws
 * under http.
 *
 * @example
 * ```ts
 * liveSocketUrl({ protocol: "https:", host: "q.example.com" }); // "wss://q.example.com/api/quota/ws"
 * ```
 */
export function liveSocketUrl(
  base: string | PageLocation,
  path = "/api/quota/ws",
): string {
  const origin = baseUrl(base);
  const url = new URL(path, origin);
  url.protocol = origin.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/** The REST status URL for `path` on `base` (the polling fallback). */
export function statusUrl(
  base: string | PageLocation,
  path = "/api/quota/status",
): string {
  return new URL(path, baseUrl(base)).href;
}
