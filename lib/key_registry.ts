/**
 * Virtual keys: made by an admin, shown once, stored only as a SHA-256 hash,
 * and resolved from a caller's bearer secret on every proxied call. Lookups
 * are cached briefly because the proxy resolves a key on every request; a
 * revocation made here takes effect at once, one made through another
 * instance within `CACHE_MS`.
 *
 * @module
 */

import { isValidKeyName } from "./quota/scope.ts";
import type { QuotaStore, VirtualKey } from "./store/store.ts";
import { hashSecret, newKeySecret } from "./http/secrets.ts";

/** How long a resolved key is trusted without asking the store again. */
export const CACHE_MS = 5_000;
const MAX_CACHED = 10_000;
const PREFIX_LENGTH = 7;

/** Why a key operation was refused. */
export class KeyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
    readonly code: string,
  ) {
    super(message);
    this.name = "KeyError";
  }
}

/** The public view of a key: never its secret or hash. */
export interface KeyView {
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  kind: VirtualKey["kind"];
}

/** Strips what must never leave the server. */
export function keyView(key: VirtualKey): KeyView {
  return {
    name: key.name,
    prefix: key.prefix,
    createdAt: key.createdAt,
    revokedAt: key.revokedAt ?? null,
    kind: key.kind,
  };
}

/** Creates, rotates, revokes and resolves virtual keys. */
export class KeyRegistry {
  #store: QuotaStore;
  #clock: () => number;
  #cache = new Map<string, { key: VirtualKey | null; at: number }>();
  /**
   * Secrets resolved within CACHE_MS and their hash; an entry counts only
   * while the hash's cache entry is the one it was made with, so a rotation
   * or revocation here (which deletes that entry) takes effect at once.
   */
  #bySecret = new Map<string, { hash: string; at: number }>();

  constructor(store: QuotaStore, clock: () => number = Date.now) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Makes a key; returns its secret, which is shown this once. */
  async create(name: unknown): Promise<{ key: KeyView; secret: string }> {
    if (typeof name !== "string" || !isValidKeyName(name)) {
      throw new KeyError(
        'A key needs a "name" of 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit.',
        400,
        "invalid_key_name",
      );
    }
    if (await this.#store.getKeyByName(name)) {
      throw new KeyError(
        `A key named "${name}" exists already; choose another name, or rotate its secret with PATCH /api/keys/${name}.`,
        409,
        "key_exists",
      );
    }
    const secret = newKeySecret();
    const key: VirtualKey = {
      name,
      hash: await hashSecret(secret),
      prefix: secret.slice(0, PREFIX_LENGTH),
      createdAt: new Date(this.#clock()).toISOString(),
      kind: "virtual",
    };
    await this.#store.putKey(key);
    return { key: keyView(key), secret };
  }

  /** Gives a key a new secret (the old one stops working); returns the new secret once. */
  async rotate(name: string): Promise<{ key: KeyView; secret: string }> {
    const key = await this.#require(name);
    if (key.revokedAt) {
      throw new KeyError(
        `The key "${name}" is revoked; create a new key instead.`,
        409,
        "key_revoked",
      );
    }
    const secret = newKeySecret();
    const rotated = {
      ...key,
      hash: await hashSecret(secret),
      prefix: secret.slice(0, PREFIX_LENGTH),
    };
    await this.#store.putKey(rotated);
    this.#cache.delete(key.hash);
    return { key: keyView(rotated), secret };
  }

  /** Revokes a key: calls with it are refused from now on; its history stays. */
  async revoke(name: string): Promise<KeyView> {
    const key = await this.#require(name);
    if (key.revokedAt) return keyView(key);
    const revoked = {
      ...key,
      revokedAt: new Date(this.#clock()).toISOString(),
    };
    await this.#store.putKey(revoked);
    this.#cache.delete(key.hash);
    return keyView(revoked);
  }

  /** Every key, public view, sorted by name. */
  async list(): Promise<KeyView[]> {
    const keys = await this.#store.listKeys();
    return keys.map(keyView).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One key's public view, or a 404 KeyError. */
  async get(name: string): Promise<KeyView> {
    return keyView(await this.#require(name));
  }

  /** True when a live (not revoked) key has this name. */
  async exists(name: string): Promise<boolean> {
    const key = await this.#store.getKeyByName(name);
    return key !== null && !key.revokedAt;
  }

  /** The live key a secret belongs to, or null. Cached for CACHE_MS. */
  async resolve(secret: string): Promise<VirtualKey | null> {
    // A secret seen within CACHE_MS skips hashing: SHA-256 through
    // crypto.subtle is an async op per call, a visible cost on the hot path.
    const recent = this.#bySecret.get(secret);
    if (recent && this.#clock() - recent.at < CACHE_MS) {
      const entry = this.#cache.get(recent.hash);
      if (entry && entry.at === recent.at) return entry.key;
    }
    const hash = await hashSecret(secret);
    const now = this.#clock();
    const cached = this.#cache.get(hash);
    if (cached && now - cached.at < CACHE_MS) {
      if (cached.key) this.#rememberSecret(secret, hash, cached.at);
      return cached.key;
    }
    const found = await this.#store.getKeyByHash(hash);
    const key = found && !found.revokedAt ? found : null;
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    this.#cache.set(hash, { key, at: now });
    // Wrong guesses are never kept in clear, so a flood of them cannot evict
    // the real keys either.
    if (key) this.#rememberSecret(secret, hash, now);
    return key;
  }

  #rememberSecret(secret: string, hash: string, at: number): void {
    if (this.#bySecret.size >= MAX_CACHED) {
      for (const [known, entry] of this.#bySecret) {
        if (at - entry.at >= CACHE_MS) this.#bySecret.delete(known);
      }
      if (this.#bySecret.size >= MAX_CACHED) return;
    }
    this.#bySecret.set(secret, { hash, at });
  }

  /**
   * The caller of a passthrough gateway, named by a hash of its provider key
   * and never stored in clear. It is not stored at all until the provider has
   * accepted the key (see `rememberPassthrough`), so made-up keys cannot grow
   * the store.
   */
  async passthroughCaller(providerKey: string): Promise<VirtualKey> {
    const hash = await hashSecret(providerKey);
    const cached = this.#cache.get(hash);
    if (cached?.key) return cached.key;
    const existing = await this.#store.getKeyByHash(hash);
    if (existing) {
      this.#cache.set(hash, { key: existing, at: this.#clock() });
      return existing;
    }
    return {
      name: `caller-${hash.slice(0, 12)}`,
      hash,
      prefix: `sha256:${hash.slice(0, 8)}`,
      createdAt: new Date(this.#clock()).toISOString(),
      kind: "passthrough",
    };
  }

  /** Registers a passthrough caller once the provider accepted its key, so it shows in the status. */
  async rememberPassthrough(key: VirtualKey): Promise<void> {
    if (this.#cache.get(key.hash)?.key) return;
    await this.#store.putKey(key);
    this.#cache.set(key.hash, { key, at: this.#clock() });
  }

  async #require(name: string): Promise<VirtualKey> {
    const key = isValidKeyName(name)
      ? await this.#store.getKeyByName(name)
      : null;
    if (!key) {
      throw new KeyError(
        `No key is named "${
          name.slice(0, 80)
        }"; list the keys with GET /api/keys.`,
        404,
        "key_not_found",
      );
    }
    return key;
  }
}
