/**
 * What the provider says about our own quota: its x-ratelimit-* headers and
 * its 429s, kept per upstream key (named by a hash prefix, never the key) and
 * written to the store at most once a second per key, so that the hot path
 * does not pay a commit for every response. A 429 is written at once.
 *
 * @module
 */

import type { QuotaStore } from "../store/store.ts";
import type { UpstreamQuota } from "../quota/types.ts";
import { parseUpstreamRateLimitHeaders } from "./rate_limit_headers.ts";
import type { UpstreamErrorInfo } from "./upstream_error.ts";

const FLUSH_EVERY_MS = 1000;

/** Keeps the provider's quota per upstream key. */
export class UpstreamQuotaTracker {
  #store: QuotaStore;
  #clock: () => number;
  #onChange: () => void;
  #current = new Map<string, UpstreamQuota>();
  #dirty = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    store: QuotaStore,
    clock: () => number,
    onChange: () => void = () => {},
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#onChange = onChange;
  }

  /** Reads the rate-limit headers of a provider response. */
  observe(keyId: string, headers: Headers): void {
    const now = this.#clock();
    const fields = parseUpstreamRateLimitHeaders(headers, now);
    if (Object.keys(fields).length === 0) return;
    const previous = this.#current.get(keyId) ?? {
      keyId,
      updatedAt: "",
    };
    this.#current.set(keyId, {
      ...previous,
      ...fields,
      updatedAt: new Date(now).toISOString(),
    });
    this.#dirty.add(keyId);
    this.#timer ??= setTimeout(() => this.flush(), FLUSH_EVERY_MS);
  }

  /** Records a provider 429 and writes it at once. */
  async rejected(
    keyId: string,
    headers: Headers,
    info: UpstreamErrorInfo,
  ): Promise<void> {
    this.observe(keyId, headers);
    const now = this.#clock();
    const quota = this.#current.get(keyId) ?? { keyId, updatedAt: "" };
    const last429: NonNullable<UpstreamQuota["last429"]> = {
      kind: info.kind,
      at: new Date(now).toISOString(),
      message: info.message.slice(0, 500),
    };
    if (info.retryAfterMs !== undefined) {
      last429.retryAfterMs = info.retryAfterMs;
    }
    this.#current.set(keyId, {
      ...quota,
      last429,
      updatedAt: new Date(now).toISOString(),
    });
    this.#dirty.add(keyId);
    await this.flush();
  }

  /** Writes what changed since the last write. */
  async flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const keys = [...this.#dirty];
    this.#dirty.clear();
    if (keys.length === 0) return;
    try {
      await Promise.all(
        keys.map((k) => this.#store.putUpstream(this.#current.get(k)!)),
      );
      this.#onChange();
    } catch (error) {
      // The provider's numbers are advisory; losing one update is harmless,
      // and the next response brings fresh ones.
      console.warn(
        `Could not save the provider's rate-limit numbers: ${
          (error as Error).message
        }`,
      );
    }
  }

  /** Stops the timer (the last numbers are written first). */
  async close(): Promise<void> {
    await this.flush();
  }
}
