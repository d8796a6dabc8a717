/**
 * Secrets: virtual keys are made here, stored only as SHA-256 hashes, and
 * compared in constant time so that timing tells an attacker nothing.
 *
 * @module
 */

const ENCODER = new TextEncoder();

/** Hex SHA-256 of a secret; what the store keeps instead of the secret. */
export async function hashSecret(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", ENCODER.encode(secret));
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Compares two strings without an early exit, so timing does not leak a prefix. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = ENCODER.encode(a);
  const right = ENCODER.encode(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  }
  return difference === 0;
}

/**
 * A new virtual key secret: `qm-` and 48 hex characters (192 random bits).
 *
 * @example
 * ```ts
 * const secret = newKeySecret(); // "qm-3f9c…"
 * ```
 */
export function newKeySecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return "qm-" +
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The bearer token of a request, or null. */
export function bearerToken(req: Request): string | null {
  const header = req.headers.get("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
