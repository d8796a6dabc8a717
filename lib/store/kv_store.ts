/**
 * The Deno KV backend of the quota store: an embedded database file (or
 * `:memory:` in tests). Counter writes go through a group committer, so that
 * concurrent admissions in one process are decided together in one atomic
 * commit, and processes sharing the file stay exact through versionstamp
 * checks. See `store.ts` for the contract.
 *
 * @module
 */

import type {
  LimitDefinition,
  UpstreamQuota,
  UsageRecord,
} from "../quota/types.ts";
import {
  addHold,
  addUsage,
  bucketsInWindow,
  type CounterValue,
  holdFits,
  readCounter,
  removeHold,
} from "./counter_math.ts";
import {
  CHANGE_SEQ_KEY,
  GroupCommitter,
  type WriteView,
} from "./kv_group_commit.ts";
import {
  counterKey,
  idempotencyKey,
  keyHashKey,
  LEASE_PREFIX,
  leaseKey,
  LIMIT_PREFIX,
  limitKey,
  RECORD_PREFIX,
  recordKey,
  reservationKey,
  ROLLUP_FIELDS,
  ROLLUP_PREFIX,
  type RollupField,
  rollupKey,
  UPSTREAM_PREFIX,
  upstreamKey,
  VIRTUAL_KEY_PREFIX,
  virtualKeyKey,
} from "./kv_keys.ts";
import {
  backoff,
  busyError,
  MAX_KV_ATTEMPTS,
  withLockRetry,
} from "./kv_retry.ts";
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

/** Options of the Deno KV store. */
export interface KvStoreOptions {
  /** How long an idempotency id is remembered, in ms (7 days by default). */
  idempotencyTtlMs?: number;
}

const DEFAULT_IDEMPOTENCY_TTL_MS = 7 * 86_400_000;
const MINUTE_MS = 60_000;
/** Lease entries handled per sweep call, so one sweep stays short. */
const SWEEP_BATCH = 500;
/** Deletions per commit when pruning (under the 1000-mutation ceiling). */
const PRUNE_BATCH = 500;
const REQUEUE = Symbol("requeue");

/**
 * Opens (or creates) a Deno KV quota store at `path`, a file path or
 * `":memory:"`. The folder of a file path is created when missing.
 *
 * @example
 * const store = await openKvStore("./data/quota.kv");
 */
export async function openKvStore(
  path: string,
  options: KvStoreOptions = {},
): Promise<QuotaStore> {
  if (path !== ":memory:") {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  }
  const kv = await withLockRetry(() => Deno.openKv(path));
  return new KvQuotaStore(
    kv,
    options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS,
  );
}

class KvQuotaStore implements QuotaStore {
  #kv: Deno.Kv;
  #writer: GroupCommitter;
  #idempotencyTtlMs: number;
  /** Reservations made through this handle: settling them skips a read. */
  #local = new Map<string, ReservationRecord>();

  constructor(kv: Deno.Kv, idempotencyTtlMs: number) {
    this.#kv = kv;
    this.#writer = new GroupCommitter(kv);
    this.#idempotencyTtlMs = idempotencyTtlMs;
  }

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    const resKey = reservationKey(input.reservationId);
    const result = await this.#writer.run({
      keys: [resKey, ...input.holds.map((h) => counterKey(h.counter))],
      mutations: input.holds.length + 2,
      apply: (view): ReserveResult => {
        const readAll = () =>
          input.holds.map((h) =>
            readCounter(view.get<CounterValue>(counterKey(h.counter)), h)
          );
        if (view.get(resKey) !== null) {
          return { ok: true, existing: true, readings: readAll() };
        }
        for (const hold of input.holds) {
          const value = view.get<CounterValue>(counterKey(hold.counter));
          const reading = readCounter(value, hold);
          if (!holdFits(reading, hold)) {
            return {
              ok: false,
              limitId: hold.limitId,
              counter: hold.counter,
              used: reading.used,
              reserved: reading.reserved,
              limit: hold.limit,
              requested: hold.amount,
              lastBucket: reading.lastBucket,
              buckets: value ? bucketsInWindow(value, hold) : [],
            };
          }
        }
        for (const hold of input.holds) {
          const key = counterKey(hold.counter);
          view.set(
            key,
            addHold(view.get<CounterValue>(key), hold, hold.amount),
          );
        }
        const record: ReservationRecord = {
          reservationId: input.reservationId,
          holds: input.holds.map((h) => ({
            counter: h.counter,
            amount: h.amount,
          })),
          leaseUntil: input.leaseUntil,
          meta: input.meta,
        };
        view.set(resKey, record);
        view.blind((op) =>
          op.set(leaseKey(input.leaseUntil, input.reservationId), true)
        );
        return { ok: true, readings: readAll() };
      },
    });
    if (result.ok && !result.existing) {
      this.#local.set(input.reservationId, {
        reservationId: input.reservationId,
        holds: input.holds.map((h) => ({
          counter: h.counter,
          amount: h.amount,
        })),
        leaseUntil: input.leaseUntil,
        meta: input.meta,
      });
    }
    return result;
  }

  async settle(
    reservationId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<boolean> {
    return await this.#withReservation(reservationId, adds, (view, res) => {
      this.#freeHolds(view, res);
      this.#writeUsage(view, adds, record);
      view.set(idempotencyKey(SETTLED_ID_PREFIX + reservationId), true, {
        expireIn: this.#idempotencyTtlMs,
      });
      return true;
    }, adds.length + 9);
  }

  async release(reservationId: string): Promise<boolean> {
    return await this.#withReservation(reservationId, [], (view, res) => {
      this.#freeHolds(view, res);
      return true;
    }, 2);
  }

  async getReservation(
    reservationId: string,
  ): Promise<ReservationRecord | null> {
    const entry = await withLockRetry(() =>
      this.#kv.get<ReservationRecord>(reservationKey(reservationId))
    );
    return entry.value;
  }

  async sweepExpired(now: number): Promise<number> {
    const expired: { id: string; leaseUntil: number }[] = [];
    await withLockRetry(async () => {
      expired.length = 0;
      const iter = this.#kv.list<boolean>(
        { start: LEASE_PREFIX, end: [...LEASE_PREFIX, now] },
        { limit: SWEEP_BATCH },
      );
      for await (const entry of iter) {
        expired.push({
          leaseUntil: entry.key[1] as number,
          id: entry.key[2] as string,
        });
      }
    });
    let released = 0;
    for (const { id, leaseUntil } of expired) {
      const done = await this.#withReservation(
        id,
        [],
        (view, res) => {
          if (res.leaseUntil >= now) return false;
          this.#freeHolds(view, res);
          return true;
        },
        2,
        leaseKey(leaseUntil, id),
      );
      if (done) released++;
    }
    return released;
  }

  record(
    idempotencyId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<"recorded" | "duplicate"> {
    const idemKey = idempotencyKey(idempotencyId);
    return this.#writer.run({
      keys: [idemKey, ...adds.map((a) => counterKey(a.counter))],
      mutations: adds.length + 7,
      apply: (view) => {
        if (view.get(idemKey) !== null) return "duplicate" as const;
        view.set(idemKey, true, { expireIn: this.#idempotencyTtlMs });
        this.#writeUsage(view, adds, record);
        return "recorded" as const;
      },
    });
  }

  async readCounters(positions: CounterPosition[]): Promise<CounterReading[]> {
    const keys = positions.map((p) => counterKey(p.counter));
    const entries: Deno.KvEntryMaybe<CounterValue>[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      const part = keys.slice(i, i + 10);
      entries.push(
        ...await withLockRetry(() => this.#kv.getMany<CounterValue[]>(part)),
      );
    }
    return positions.map((p, i) => readCounter(entries[i].value, p));
  }

  async listRecent(limit: number): Promise<UsageRecord[]> {
    return await this.#listValues<UsageRecord>({ prefix: RECORD_PREFIX }, {
      reverse: true,
      limit,
    });
  }

  async listRollups(from: number, to: number): Promise<UsageRollup[]> {
    const rollups = new Map<string, UsageRollup>();
    await withLockRetry(async () => {
      rollups.clear();
      const iter = this.#kv.list<Deno.KvU64>({
        start: [...ROLLUP_PREFIX, from],
        end: [...ROLLUP_PREFIX, to],
      });
      for await (const entry of iter) {
        const [, minute, key, model, field] = entry.key as [
          string,
          number,
          string,
          string,
          RollupField,
        ];
        const id = JSON.stringify([minute, key, model]);
        let rollup = rollups.get(id);
        if (!rollup) {
          rollup = {
            minute,
            key,
            model,
            requests: 0,
            inputTokens: 0,
            outputTokens: 0,
            costNanos: 0,
          };
          rollups.set(id, rollup);
        }
        rollup[field] = Number(entry.value.value);
      }
    });
    return [...rollups.values()];
  }

  async pruneRecords(before: number): Promise<number> {
    let pruned = 0;
    while (true) {
      const keys: Deno.KvKey[] = [];
      await withLockRetry(async () => {
        keys.length = 0;
        const iter = this.#kv.list({
          start: RECORD_PREFIX,
          end: [...RECORD_PREFIX, before],
        }, {
          limit: PRUNE_BATCH,
        });
        for await (const entry of iter) keys.push(entry.key);
      });
      if (keys.length === 0) return pruned;
      await withLockRetry(async () => {
        const op = this.#kv.atomic();
        for (const key of keys) op.delete(key);
        op.sum(CHANGE_SEQ_KEY, 1n);
        await op.commit();
      });
      pruned += keys.length;
    }
  }

  async putKey(key: VirtualKey): Promise<void> {
    await this.#untilCommitted(async () => {
      const old = await this.#kv.get<VirtualKey>(virtualKeyKey(key.name));
      const op = this.#kv.atomic().check(old).set(virtualKeyKey(key.name), key)
        .set(keyHashKey(key.hash), key.name);
      if (old.value && old.value.hash !== key.hash) {
        op.delete(keyHashKey(old.value.hash));
      }
      return (await op.sum(CHANGE_SEQ_KEY, 1n).commit()).ok ? true : null;
    });
  }

  async getKeyByName(name: string): Promise<VirtualKey | null> {
    return (await withLockRetry(() =>
      this.#kv.get<VirtualKey>(virtualKeyKey(name))
    )).value;
  }

  async getKeyByHash(hash: string): Promise<VirtualKey | null> {
    const name =
      (await withLockRetry(() => this.#kv.get<string>(keyHashKey(hash)))).value;
    if (name === null) return null;
    const key = await this.getKeyByName(name);
    return key && key.hash === hash ? key : null;
  }

  async listKeys(): Promise<VirtualKey[]> {
    return await this.#listValues<VirtualKey>({ prefix: VIRTUAL_KEY_PREFIX });
  }

  async putLimit(limit: LimitDefinition): Promise<void> {
    await this.#setBumping(limitKey(limit.id), limit);
  }

  async deleteLimit(id: string): Promise<boolean> {
    return await this.#untilCommitted(async () => {
      const old = await this.#kv.get(limitKey(id));
      if (old.value === null) return false;
      const result = await this.#kv.atomic().check(old).delete(limitKey(id))
        .sum(CHANGE_SEQ_KEY, 1n).commit();
      return result.ok ? true : null;
    });
  }

  async listLimits(): Promise<LimitDefinition[]> {
    return await this.#listValues<LimitDefinition>({ prefix: LIMIT_PREFIX });
  }

  async putUpstream(quota: UpstreamQuota): Promise<void> {
    await this.#setBumping(upstreamKey(quota.keyId), quota);
  }

  async listUpstream(): Promise<UpstreamQuota[]> {
    return await this.#listValues<UpstreamQuota>({ prefix: UPSTREAM_PREFIX });
  }

  async changeSeq(): Promise<number> {
    const entry = await withLockRetry(() =>
      this.#kv.get<Deno.KvU64>(CHANGE_SEQ_KEY)
    );
    return entry.value ? Number(entry.value.value) : 0;
  }

  close(): void {
    this.#kv.close();
  }

  /**
   * Runs a decision on an existing reservation. Its holds are read first, so
   * the commit can check their counters; reservations never change once made,
   * so the read stays valid unless the reservation appears in between.
   */
  async #withReservation(
    reservationId: string,
    adds: CounterAdd[],
    decide: (view: WriteView, res: ReservationRecord) => boolean,
    extraMutations: number,
    staleLease?: Deno.KvKey,
  ): Promise<boolean> {
    const resKey = reservationKey(reservationId);
    let known: ReservationRecord | null = this.#local.get(reservationId) ??
      null;
    this.#local.delete(reservationId);
    while (true) {
      known ??= await this.getReservation(reservationId);
      if (known === null) {
        if (staleLease) await withLockRetry(() => this.#kv.delete(staleLease));
        return false;
      }
      const expected = known;
      const holdKeys = expected.holds.map((h) => counterKey(h.counter));
      const outcome = await this.#writer.run<boolean | typeof REQUEUE>({
        keys: [resKey, ...holdKeys, ...adds.map((a) => counterKey(a.counter))],
        mutations: expected.holds.length + extraMutations,
        apply: (view) => {
          const res = view.get<ReservationRecord>(resKey);
          if (res === null) return false;
          if (res.leaseUntil !== expected.leaseUntil) return REQUEUE;
          return decide(view, res);
        },
      });
      if (outcome !== REQUEUE) return outcome;
      known = null;
    }
  }

  #freeHolds(view: WriteView, res: ReservationRecord): void {
    for (const hold of res.holds) {
      const key = counterKey(hold.counter);
      view.set(key, removeHold(view.get<CounterValue>(key), hold.amount));
    }
    view.delete(reservationKey(res.reservationId));
    view.blind((op) => op.delete(leaseKey(res.leaseUntil, res.reservationId)));
  }

  #writeUsage(view: WriteView, adds: CounterAdd[], record: UsageRecord): void {
    for (const add of adds) {
      if (add.amount === 0) continue;
      const key = counterKey(add.counter);
      view.set(key, addUsage(view.get<CounterValue>(key), add, add.amount));
    }
    view.blind((op) => op.set(recordKey(record.at, record.id), record));
    const minute = Math.floor(record.at / MINUTE_MS) * MINUTE_MS;
    const amounts: Record<RollupField, number> = {
      requests: 1,
      inputTokens: record.inputTokens,
      outputTokens: record.outputTokens,
      costNanos: record.costNanos,
    };
    view.blind((op) => {
      for (const field of ROLLUP_FIELDS) {
        op.sum(
          rollupKey(minute, record.key, record.model, field),
          BigInt(amounts[field]),
        );
      }
    });
  }

  /** Runs a read-check-commit until it commits (null means a conflict: try again). */
  async #untilCommitted<T>(attempt: () => Promise<T | null>): Promise<T> {
    for (let n = 0; n < MAX_KV_ATTEMPTS; n++) {
      const outcome = await withLockRetry(attempt);
      if (outcome !== null) return outcome;
      await backoff(n);
    }
    throw busyError();
  }

  async #setBumping(key: Deno.KvKey, value: unknown): Promise<void> {
    await withLockRetry(() =>
      this.#kv.atomic().set(key, value).sum(CHANGE_SEQ_KEY, 1n).commit()
    );
  }

  async #listValues<T>(
    selector: Deno.KvListSelector,
    options: Deno.KvListOptions = {},
  ): Promise<T[]> {
    return await withLockRetry(async () => {
      const values: T[] = [];
      for await (const entry of this.#kv.list<T>(selector, options)) {
        values.push(entry.value);
      }
      return values;
    });
  }
}
