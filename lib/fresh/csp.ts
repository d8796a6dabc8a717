/**
 * Security headers for every response, with a Content-Security-Policy that
 * lets exactly one kind of inline script run: ours, carrying the per-request
 * nonce. Used by the root `routes/_middleware.ts`.
 *
 * @module
 */

/** The `ctx.state` key under which the renderer finds the request's nonce. */
export const CSP_NONCE_KEY = "cspNonce";

/** A fresh random nonce (128 bits, base64). */
export function createNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return bytes.toBase64();
}

/**
 * The policy for an HTML page. Scripts: our own files and the nonced boot
 * script, never inline code otherwise. Styles: our own files; `style` attributes
 * are allowed (server-rendered gauges set widths) but `<style>` elements are not.
 * Sockets: the same host over ws: and wss:.
 */
export function contentSecurityPolicy(nonce: string, host: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ws://${host} wss://${host}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Adds the security headers to a response and returns it (or a copy, when
 * its headers are immutable, as those of `fetch()` and `Response.redirect()`
 * are). A 101 (WebSocket upgrade) is returned untouched. The CSP goes only
 * on HTML, and never replaces one the route set itself.
 */
export function withSecurityHeaders(
  response: Response,
  nonce: string,
  host: string,
): Response {
  if (response.status === 101) return response;
  try {
    applyHeaders(response.headers, nonce, host);
    return response;
  } catch {
    const copy = new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: new Headers(response.headers),
    });
    applyHeaders(copy.headers, nonce, host);
    return copy;
  }
}

function applyHeaders(headers: Headers, nonce: string, host: string): void {
  headers.set("x-content-type-options", "nosniff");
  headers.set("referrer-policy", "strict-origin-when-cross-origin");
  const type = headers.get("content-type") ?? "";
  if (type.startsWith("text/html")) {
    if (!headers.has("content-security-policy")) {
      headers.set(
        "content-security-policy",
        contentSecurityPolicy(nonce, host),
      );
    }
    headers.set("x-frame-options", "DENY");
  }
}
