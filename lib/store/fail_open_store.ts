/**
 * Fail-open mode: a store wrapper that keeps traffic flowing while the real
 * (shared) store is unavailable, for teams that prefer serving calls over
 * enforcing limits during a Redis outage (QUOTA_REDIS_FAIL_OPEN=true). The
 * default everywhere else is fail closed: StoreUnavailableError becomes 503.
 *
 * What fail-open means for exactness, honestly:
 * - While the inner store is away, every admission is granted: limits are
 *   NOT enforced, on any instance. A fleet of N instances can overshoot a
 *   limit by whatever traffic arrives during the outage.
 * - Usage is counted in a local in-memory Deno KV store, so this instance's
 *   status, recent calls and charts keep moving (showing local numbers only),
 *   and it is queued for replay. When the inner store answers again the queue
 *   is replayed into it through `record` (idempotent by id, so a call that
 *   reached Redis before the outage is never counted twice). Usage queued by a
 *   process that dies before Redis returns is lost; the queue is bounded.
 * - Reservations held in the inner store when it went away stay held until
 *   their lease ends (or a queued release reaches it).
 * - Admin writes (keys, limits) are not faked: they fail with
 *   StoreUnavailableError. Key lookups and limits are answered from the last
 *   values this process read, so a key revoked during the outage still works
 *   here until the store is back.
 *
 * @module
 */

import type {
  LimitDefinition,
  UpstreamQuota,
  UsageRecord,
} from "../quota/types.ts";
import { StoreUnavailableError } from "./errors.ts";
import { openKvStore } from "./kv_store.ts";
import type {
  CounterAdd,
  CounterPosition,
  CounterReading,
  QuotaStore,
  ReservationRecord,
  ReserveInput,
  ReserveResult,
  UsageRollup,
  VirtualKey,
} from "./store.ts";
import { SETTLED_ID_PREFIX } from "./store.ts";

/** A store that falls back to local counting; see the module notes for what that costs. */
export interface FailOpenStore extends QuotaStore {
  /** How many calls were answered locally because the inner store was unavailable. */
  readonly fallbacks: number;
  /** Usage (and releases) counted locally and not yet replayed into the inner store. */
  readonly pendingReplay: number;
  /** Entries dropped because the replay queue was full. */
  readonly droppedReplay: number;
  /**
   * Replays what was counted locally into the inner store; resolves with how
   * many entries went through (it stops early while the store is still away).
   * Runs by itself after the inner store answers again.
   */
  replay(): Promise<number>;
}

/** Options of the fail-open wrapper. */
export interface FailOpenOptions {
  /**
   * After a failure, calls go straight to local counting for this long before
   * the inner store is tried again (1000 ms), so a hanging Redis does not add
   * its timeout to every call.
   */
  retryAfterMs?: number;
  /** The most entries kept for replay (100,000). */
  maxReplay?: number;
}

type ReplayEntry =
  | {
    kind: "record";
    idempotencyId: string;
    adds: CounterAdd[];
    record: UsageRecord;
  }
  | { kind: "release"; reservationId: string };

const DEFAULT_RETRY_AFTER_MS = 1000;
const DEFAULT_MAX_REPLAY = 100_000;

/**
 * Wraps `inner` so that StoreUnavailableError never reaches the caller:
 * admissions are granted and usage is counted locally until `inner` answers
 * again. `onFallback` is told every time a call was answered locally (count
 * it as a metric). Other errors pass through unchanged.
 *
 * @example
 * const store = failOpenStore(await openRedisStore(url, { waitForConnection: false }),
 *   () => metrics.storeFallbacks++);
 */
export function failOpenStore(
  inner: QuotaStore,
  onFallback: (error: StoreUnavailableError) => void,
  options: FailOpenOptions = {},
): FailOpenStore {
  return new FailOpenQuotaStore(inner, onFallback, options);
}

class FailOpenQuotaStore implements FailOpenStore {
  #inner: QuotaStore;
  #onFallback: (error: StoreUnavailableError) => void;
  #retryAfterMs: number;
  #maxReplay: number;
  #local: Promise<QuotaStore> | null = null;
  #downUntil = 0;
  #lastError: StoreUnavailableError | null = null;
  #fallbacks = 0;
  #dropped = 0;
  #queue: ReplayEntry[] = [];
  #replaying: Promise<number> | null = null;
  /** Reservations made locally during an outage: they live only in the local store. */
  #localReservations = new Set<string>();
  #keysByHash = new Map<string, VirtualKey>();
  #keysByName = new Map<string, VirtualKey>();
  #limits: LimitDefinition[] = [];
  #lastSeq = 0;
  #closed = false;

  constructor(
    inner: QuotaStore,
    onFallback: (error: StoreUnavailableError) => void,
    options: FailOpenOptions,
  ) {
    this.#inner = inner;
    this.#onFallback = onFallback;
    this.#retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
    this.#maxReplay = options.maxReplay ?? DEFAULT_MAX_REPLAY;
  }

  get fallbacks(): number {
    return this.#fallbacks;
  }

  get pendingReplay(): number {
    return this.#queue.length;
  }

  get droppedReplay(): number {
    return this.#dropped;
  }

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    if (this.#localReservations.has(input.reservationId)) {
      return { ok: true, existing: true };
    }
    return await this.#attempt(() => this.#inner.reserve(input), async () => {
      const local = await this.#localStore();
      // Fail open: hold locally (so settle and release find it), never refuse.
      const held = await local.reserve({
        ...input,
        holds: input.holds.map((h) => ({
          ...h,
          limit: Number.MAX_SAFE_INTEGER,
        })),
      });
      this.#localReservations.add(input.reservationId);
      return { ok: true, readings: held.ok ? held.readings : undefined };
    });
  }

  async settle(
    reservationId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<boolean> {
    const idempotencyId = SETTLED_ID_PREFIX + reservationId;
    if (this.#localReservations.delete(reservationId)) {
      const local = await this.#localStore();
      if (!await local.settle(reservationId, adds, record)) return false;
      this.#enqueue({ kind: "record", idempotencyId, adds, record });
      return true;
    }
    return await this.#attempt(
      () => this.#inner.settle(reservationId, adds, record),
      async () =>
        await this.#recordLocally(idempotencyId, adds, record) === "recorded",
    );
  }

  async release(reservationId: string): Promise<boolean> {
    if (this.#localReservations.delete(reservationId)) {
      return await (await this.#localStore()).release(reservationId);
    }
    return await this.#attempt(() => this.#inner.release(reservationId), () => {
      // The hold stays in the inner store until this reaches it or its lease ends.
      this.#enqueue({ kind: "release", reservationId });
      return Promise.resolve(false);
    });
  }

  async getReservation(
    reservationId: string,
  ): Promise<ReservationRecord | null> {
    if (this.#localReservations.has(reservationId)) {
      return await (await this.#localStore()).getReservation(reservationId);
    }
    return await this.#attempt(
      () => this.#inner.getReservation(reservationId),
      () => Promise.resolve(null),
    );
  }

  async sweepExpired(now: number): Promise<number> {
    let swept = 0;
    if (this.#local) swept += await (await this.#local).sweepExpired(now);
    return swept + await this.#attempt(
      () => this.#inner.sweepExpired(now),
      () => Promise.resolve(0),
    );
  }

  async record(
    idempotencyId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<"recorded" | "duplicate"> {
    return await this.#attempt(
      () => this.#inner.record(idempotencyId, adds, record),
      () => this.#recordLocally(idempotencyId, adds, record),
    );
  }

  async readCounters(positions: CounterPosition[]): Promise<CounterReading[]> {
    return await this.#attempt(
      () => this.#inner.readCounters(positions),
      async () => await (await this.#localStore()).readCounters(positions),
    );
  }

  async listRecent(limit: number): Promise<UsageRecord[]> {
    return await this.#attempt(
      () => this.#inner.listRecent(limit),
      async () => await (await this.#localStore()).listRecent(limit),
    );
  }

  async listRollups(from: number, to: number): Promise<UsageRollup[]> {
    return await this.#attempt(
      () => this.#inner.listRollups(from, to),
      async () => await (await this.#localStore()).listRollups(from, to),
    );
  }

  async pruneRecords(before: number): Promise<number> {
    let pruned = 0;
    if (this.#local) pruned += await (await this.#local).pruneRecords(before);
    return pruned + await this.#attempt(
      () => this.#inner.pruneRecords(before),
      () => Promise.resolve(0),
    );
  }

  async putKey(key: VirtualKey): Promise<void> {
    await this.#inner.putKey(key);
    this.#remember(key);
  }

  async getKeyByName(name: string): Promise<VirtualKey | null> {
    return await this.#attempt(async () => {
      const key = await this.#inner.getKeyByName(name);
      if (key) this.#remember(key);
      else this.#keysByName.delete(name);
      return key;
    }, () => Promise.resolve(this.#keysByName.get(name) ?? null));
  }

  async getKeyByHash(hash: string): Promise<VirtualKey | null> {
    return await this.#attempt(async () => {
      const key = await this.#inner.getKeyByHash(hash);
      if (key) this.#remember(key);
      else this.#keysByHash.delete(hash);
      return key;
    }, () => Promise.resolve(this.#keysByHash.get(hash) ?? null));
  }

  async listKeys(): Promise<VirtualKey[]> {
    return await this.#attempt(async () => {
      const keys = await this.#inner.listKeys();
      this.#keysByHash.clear();
      this.#keysByName.clear();
      for (const key of keys) this.#remember(key);
      return keys;
    }, () => Promise.resolve([...this.#keysByName.values()]));
  }

  async putLimit(limit: LimitDefinition): Promise<void> {
    await this.#inner.putLimit(limit);
  }

  async deleteLimit(id: string): Promise<boolean> {
    return await this.#inner.deleteLimit(id);
  }

  async listLimits(): Promise<LimitDefinition[]> {
    return await this.#attempt(async () => {
      this.#limits = await this.#inner.listLimits();
      return this.#limits;
    }, () => Promise.resolve(this.#limits));
  }

  async putUpstream(quota: UpstreamQuota): Promise<void> {
    await this.#attempt(
      () => this.#inner.putUpstream(quota),
      async () => await (await this.#localStore()).putUpstream(quota),
    );
  }

  async listUpstream(): Promise<UpstreamQuota[]> {
    return await this.#attempt(
      () => this.#inner.listUpstream(),
      async () => await (await this.#localStore()).listUpstream(),
    );
  }

  async changeSeq(): Promise<number> {
    return await this.#attempt(async () => {
      this.#lastSeq = await this.#inner.changeSeq();
      return this.#lastSeq;
    }, async () =>
      // Local writes must still show as changes to this process's live views.
      this.#lastSeq + 1 + await (await this.#localStore()).changeSeq());
  }

  close(): void {
    this.#closed = true;
    this.#inner.close();
    this.#local?.then((local) => local.close(), () => {});
  }

  replay(): Promise<number> {
    this.#replaying ??= this.#drain().finally(() => {
      this.#replaying = null;
    });
    return this.#replaying;
  }

  async #drain(): Promise<number> {
    let done = 0;
    while (this.#queue.length > 0 && !this.#closed) {
      const entry = this.#queue[0];
      try {
        if (entry.kind === "record") {
          await this.#inner.record(
            entry.idempotencyId,
            entry.adds,
            entry.record,
          );
        } else {
          await this.#inner.release(entry.reservationId);
        }
        done++;
      } catch (error) {
        if (error instanceof StoreUnavailableError) break;
        console.error(
          `A locally counted quota entry could not be replayed and is dropped: ${
            error instanceof Error ? error.message : error
          }`,
        );
      }
      this.#queue.shift();
    }
    return done;
  }

  /** Tries the inner store, unless it failed moments ago; answers locally when it is unavailable. */
  async #attempt<T>(
    primary: () => Promise<T>,
    fallback: () => Promise<T>,
  ): Promise<T> {
    if (Date.now() < this.#downUntil && this.#lastError) {
      return await this.#fallBack(this.#lastError, fallback);
    }
    try {
      const value = await primary();
      this.#downUntil = 0;
      if (this.#queue.length > 0) void this.replay();
      return value;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.#lastError = error;
      this.#downUntil = Date.now() + this.#retryAfterMs;
      return await this.#fallBack(error, fallback);
    }
  }

  async #fallBack<T>(
    error: StoreUnavailableError,
    fallback: () => Promise<T>,
  ): Promise<T> {
    this.#fallbacks++;
    try {
      this.#onFallback(error);
    } catch { /* a metric callback must never break a call */ }
    return await fallback();
  }

  async #recordLocally(
    idempotencyId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<"recorded" | "duplicate"> {
    const local = await this.#localStore();
    const outcome = await local.record(idempotencyId, adds, record);
    if (outcome === "recorded") {
      this.#enqueue({ kind: "record", idempotencyId, adds, record });
    }
    return outcome;
  }

  #enqueue(entry: ReplayEntry): void {
    if (this.#queue.length >= this.#maxReplay) {
      this.#dropped++;
      return;
    }
    this.#queue.push(entry);
    if (Date.now() >= this.#downUntil) void this.replay();
  }

  #remember(key: VirtualKey): void {
    const previous = this.#keysByName.get(key.name);
    if (previous && previous.hash !== key.hash) {
      this.#keysByHash.delete(previous.hash);
    }
    this.#keysByName.set(key.name, key);
    this.#keysByHash.set(key.hash, key);
  }

  #localStore(): Promise<QuotaStore> {
    this.#local ??= openKvStore(":memory:");
    return this.#local;
  }
}
