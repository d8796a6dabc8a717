/**
 * Plain explanations for what /test-quota finds: each failure of the REST
 * round trip or the live socket, told as what to fix.
 *
 * @module
 */

/** Where the page runs and where it connects to. */
export interface OriginFacts {
  /** The page's own origin (location.origin). */
  pageOrigin: string;
  /** The origin of the API in use (the page's own, or QUOTA_API_ORIGIN). */
  apiOrigin: string;
  /** What the server allows to open the socket: its own origin plus CORS_ORIGINS. */
  allowedOrigins: readonly string[];
  /** True when the server requires a login for the dashboard. */
  loginRequired: boolean;
}

/** The outcome of one REST round trip. */
export type RestOutcome =
  | { kind: "ok"; status: number; latencyMs: number }
  | { kind: "http"; status: number; latencyMs: number; message: string | null }
  | { kind: "network"; latencyMs: number; message: string };

/** True when the page's origin may use the API: the API's own origin, or listed. */
export function originAllowed(facts: OriginFacts): boolean {
  return facts.pageOrigin === facts.apiOrigin ||
    facts.allowedOrigins.includes(facts.pageOrigin);
}

/**
 * What to do about a failed REST round trip, in one or two sentences; null
 * when it succeeded.
 */
export function explainRest(
  outcome: RestOutcome,
  facts: OriginFacts,
): string | null {
  if (outcome.kind === "ok") return null;
  const crossOrigin = facts.pageOrigin !== facts.apiOrigin;
  if (outcome.kind === "network") {
    if (crossOrigin && !originAllowed(facts)) {
      return `The browser refused the answer from ${facts.apiOrigin} (CORS): this page's origin ${facts.pageOrigin} is not allowed there. Add it to CORS_ORIGINS on the API server and restart it.`;
    }
    return `The browser could not reach ${facts.apiOrigin}: the server is down or restarting, or a proxy in front of it is not forwarding requests. Start it (deno task start) and check the address${
      crossOrigin
        ? `; if it runs, check that CORS_ORIGINS there lists ${facts.pageOrigin}`
        : ""
    }.`;
  }
  switch (outcome.status) {
    case 401:
      return facts.loginRequired
        ? "The server wants the admin token: log in at /login (the form sets a cookie), or for local use set QUOTA_PUBLIC_DASHBOARD=true."
        : "The server wants credentials: log in at /login, or send Authorization: Bearer <QUOTA_ADMIN_TOKEN>.";
    case 403:
      return `The server refused this caller or origin: add ${facts.pageOrigin} to CORS_ORIGINS, or use the admin token rather than a virtual key.`;
    case 404:
      return `${facts.apiOrigin} has no /api/quota/status: the API origin (QUOTA_API_ORIGIN) points at the wrong server, or a proxy rewrites the path.`;
    case 502:
    case 503:
    case 504:
      return `A proxy in front of the server answered ${outcome.status}: it cannot reach Quota Monitor. Check that the service runs and that the proxy points at its port.`;
    default:
      return outcome.status >= 500
        ? `The server failed with ${outcome.status}; its log says why.`
        : `The server answered ${outcome.status}${
          outcome.message ? `: ${outcome.message}` : ""
        }.`;
  }
}

/** What is known when the live socket is not live. */
export interface SocketFacts {
  /** The connection state (as LiveConnection.state). */
  state: string;
  /** The last REST round trip, if one ran. */
  rest: RestOutcome | null;
}

/**
 * What to do when the live socket is not live, judged together with the
 * REST round trip (a working REST API narrows it down to the upgrade or the
 * origin); null while it is live or still making its first connection.
 */
export function explainSocket(
  socket: SocketFacts,
  facts: OriginFacts,
): string | null {
  if (socket.state === "live" || socket.state === "connecting") return null;
  if (socket.state === "stale") {
    return "The socket is open but the server has sent nothing for more than two heartbeats: the server may be overloaded, or a proxy is buffering or holding the connection. It is given up and reopened after four heartbeats.";
  }
  if (!originAllowed(facts)) {
    return `The server refuses sockets from ${facts.pageOrigin} (403): add it to CORS_ORIGINS on the server at ${facts.apiOrigin} and restart it.`;
  }
  const rest = socket.rest;
  if (rest?.kind === "http" && rest.status === 401) {
    return "The socket needs the same authorization as the dashboard: log in at /login, or set QUOTA_PUBLIC_DASHBOARD=true for local use.";
  }
  if (rest === null || rest.kind === "network") {
    return `The server at ${facts.apiOrigin} cannot be reached: it is down or restarting, or the network is failing. The page keeps retrying with growing delays and polls the REST API meanwhile.`;
  }
  if (rest.kind === "ok") {
    return 'The REST API answers but the socket does not open: a proxy or load balancer in front of the server is not forwarding WebSocket upgrades. Let it pass the Upgrade and Connection headers (nginx: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade").';
  }
  return `The socket cannot open, and the REST API answers ${rest.status}: fix that first (see above).`;
}
