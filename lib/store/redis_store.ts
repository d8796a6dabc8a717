/**
 * The Redis backend of the quota store, for fleets of gateway instances that
 * share exact limits. Every writing call is one Lua script (one round trip,
 * atomic across instances); reads of counters return raw hashes that the same
 * `counter_math.ts` as the Deno KV store turns into readings, so both backends
 * count identically. See `store.ts` for the contract and `redis_scripts.ts`
 * for the key layout.
 *
 * When Redis is unreachable every method rejects quickly with
 * `StoreUnavailableError` (no offline queue, bounded connect and command
 * timeouts) and the client reconnects by itself with capped, jittered backoff.
 *
 * @module
 */

import { Redis } from "ioredis";
import type {
  LimitDefinition,
  UpstreamQuota,
  UsageRecord,
} from "../quota/types.ts";
import {
  bucketsInWindow,
  type CounterValue,
  readCounter,
} from "./counter_math.ts";
import { StoreUnavailableError } from "./errors.ts";
import {
  GET_KEY_BY_HASH_LUA,
  HDEL_BUMP_LUA,
  HSET_BUMP_LUA,
  LIST_RECENT_LUA,
  LIST_ROLLUPS_LUA,
  PRUNE_RECORDS_LUA,
  PUT_KEY_LUA,
  READ_COUNTERS_LUA,
  RECORD_LUA,
  RELEASE_LUA,
  RESERVE_LUA,
  SETTLE_LUA,
  SWEEP_LUA,
} from "./redis_scripts.ts";
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

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** Prefix of every key, so that several deployments or tests can share a server ("qm:"). */
  prefix?: string;
  /** How long an idempotency id is remembered, in ms (7 days by default). */
  idempotencyTtlMs?: number;
  /** How long one command may take before the call fails as unavailable (2000 ms). */
  commandTimeoutMs?: number;
  /** How long one connection attempt may take (2000 ms). */
  connectTimeoutMs?: number;
  /** The ceiling of the reconnect backoff (2000 ms). */
  maxReconnectDelayMs?: number;
  /**
   * Wait at open until Redis answers, and reject with StoreUnavailableError
   * if it does not (true). With false the store opens at once and its calls
   * fail as unavailable until the first connection succeeds.
   */
  waitForConnection?: boolean;
  /**
   * Told when the connection is lost or comes back (once per change, not per
   * retry). By default one line goes to the console.
   */
  onConnectionChange?: (state: "up" | "down", error?: Error) => void;
}

const DEFAULT_PREFIX = "qm:";
const DEFAULT_IDEMPOTENCY_TTL_MS = 7 * 86_400_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
const DEFAULT_MAX_RECONNECT_DELAY_MS = 2000;
const FIRST_RECONNECT_DELAY_MS = 50;
const MINUTE_MS = 60_000;
/** Lease entries handled per sweep call, so one script stays short (as on Deno KV). */
const SWEEP_BATCH = 500;
/** Records deleted per script when pruning. */
const PRUNE_BATCH = 500;
/** Reply errors that mean "Redis cannot serve right now", not "the call was wrong". */
const TRANSIENT_REPLY =
  /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;
const ROLLUP_FIELDS = [
  "requests",
  "inputTokens",
  "outputTokens",
  "costNanos",
] as const;

/** The Redis keys of one prefix. */
export function redisKeys(prefix: string) {
  return {
    counter: (counter: string) => `${prefix}ctr:${counter}`,
    reservation: (id: string) => `${prefix}res:${id}`,
    idempotency: (id: string) => `${prefix}idem:${id}`,
    rollup: (minute: number) => `${prefix}roll:${minute}`,
    leases: `${prefix}leases`,
    seq: `${prefix}seq`,
    recordIndex: `${prefix}recidx`,
    records: `${prefix}recs`,
    rollupMinutes: `${prefix}rollmin`,
    keys: `${prefix}vk`,
    keyHashes: `${prefix}vkh`,
    limits: `${prefix}lim`,
    upstream: `${prefix}up`,
  };
}

/**
 * Opens a quota store on the Redis server at `url` (redis:// or rediss://,
 * with a password and a database number if needed).
 *
 * @throws StoreUnavailableError when Redis does not answer at open (unless
 * `waitForConnection` is false).
 * @example
 * const store = await openRedisStore("redis://127.0.0.1:6379", { prefix: "qm:" });
 */
export async function openRedisStore(
  url: string,
  options: RedisStoreOptions = {},
): Promise<QuotaStore> {
  const where = redactUrl(url);
  const maxDelay = options.maxReconnectDelayMs ??
    DEFAULT_MAX_RECONNECT_DELAY_MS;
  const client = new Redis(url, {
    lazyConnect: true,
    // Fail fast instead of queueing calls while Redis is away: admission must not hang.
    enableOfflineQueue: false,
    // Calls in flight when the connection drops fail at once rather than being resent later.
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => reconnectDelay(attempt, maxDelay),
    autoResubscribe: false,
  });
  const report = options.onConnectionChange ?? logConnectionChange(where);
  const link = { up: false, everUp: false, closed: false };
  const down = (error?: Error) => {
    if (!link.up) return;
    link.up = false;
    if (!link.closed) report("down", error);
  };
  // An 'error' listener is what keeps a lost connection from crashing the process.
  client.on("error", (error: Error) => down(error));
  client.on("close", () => down());
  client.on("ready", () => {
    if (link.up) return;
    const first = !link.everUp;
    link.up = true;
    link.everUp = true;
    if (!first && !link.closed) report("up");
  });
  const connecting = client.connect();
  if (options.waitForConnection ?? true) {
    try {
      await connecting;
    } catch (error) {
      client.disconnect();
      throw unavailable(where, error);
    }
  } else {
    connecting.catch(() => {/* reconnects by itself; calls fail until then */});
  }
  const scripts = await loadScripts();
  return new RedisQuotaStore(
    client,
    () => link.closed = true,
    scripts,
    where,
    options.prefix ?? DEFAULT_PREFIX,
    options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS,
  );
}

/** Full jitter between half the capped exponential delay and all of it. */
function reconnectDelay(attempt: number, maxDelay: number): number {
  const cap = Math.min(
    maxDelay,
    FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(attempt, 16),
  );
  return Math.round(cap / 2 + Math.random() * cap / 2);
}

function logConnectionChange(where: string) {
  return (state: "up" | "down", error?: Error) => {
    if (state === "down") {
      console.error(
        `The Redis quota store at ${where} went away${
          error ? ` (${error.message})` : ""
        }; quota calls fail until it answers again, and the connection is retried by itself.`,
      );
    } else {
      console.error(`The Redis quota store at ${where} answers again.`);
    }
  };
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(an unparseable URL)";
  }
}

function unavailable(where: string, error: unknown): StoreUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(
    `The Redis quota store at ${where} did not answer (${reason}); check that Redis is running and reachable, the connection is retried by itself.`,
    { cause: error },
  );
}

/** True when a client error means Redis could not serve the call, not that the call was wrong. */
function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  if (error.name === "ReplyError") return TRANSIENT_REPLY.test(error.message);
  return true;
}

interface Script {
  source: string;
  sha: string;
}

type ScriptName =
  | "reserve"
  | "settle"
  | "record"
  | "release"
  | "sweep"
  | "readCounters"
  | "listRecent"
  | "listRollups"
  | "pruneRecords"
  | "putKey"
  | "getKeyByHash"
  | "hsetBump"
  | "hdelBump";

const SOURCES: Record<ScriptName, string> = {
  reserve: RESERVE_LUA,
  settle: SETTLE_LUA,
  record: RECORD_LUA,
  release: RELEASE_LUA,
  sweep: SWEEP_LUA,
  readCounters: READ_COUNTERS_LUA,
  listRecent: LIST_RECENT_LUA,
  listRollups: LIST_ROLLUPS_LUA,
  pruneRecords: PRUNE_RECORDS_LUA,
  putKey: PUT_KEY_LUA,
  getKeyByHash: GET_KEY_BY_HASH_LUA,
  hsetBump: HSET_BUMP_LUA,
  hdelBump: HDEL_BUMP_LUA,
};

async function loadScripts(): Promise<Record<ScriptName, Script>> {
  const entries = await Promise.all(
    Object.entries(SOURCES).map(async ([name, source]) => {
      const digest = await crypto.subtle.digest(
        "SHA-1",
        new TextEncoder().encode(source),
      );
      const sha = [...new Uint8Array(digest)].map((b) =>
        b.toString(16).padStart(2, "0")
      ).join("");
      return [name, { source, sha }] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<ScriptName, Script>;
}

/** A counter hash as HGETALL returns it (field, value, ...) to the shape counter_math reads. */
function counterValue(flat: string[]): CounterValue | null {
  if (flat.length === 0) return null;
  let reserved = 0;
  const buckets: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i] === "r") reserved = Number(flat[i + 1]);
    else buckets.push([Number(flat[i]), Number(flat[i + 1])]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  return { buckets, reserved };
}

/** An amount as Redis's integer commands take it. */
function intArg(n: number, what: string): string {
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(
      `The ${what} must be a whole number in internal units, but it is ${n}.`,
    );
  }
  return String(n);
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class RedisQuotaStore implements QuotaStore {
  #client: Redis;
  #markClosed: () => void;
  #scripts: Record<ScriptName, Script>;
  #where: string;
  #prefix: string;
  #keys: ReturnType<typeof redisKeys>;
  #ttl: string;

  constructor(
    client: Redis,
    markClosed: () => void,
    scripts: Record<ScriptName, Script>,
    where: string,
    prefix: string,
    idempotencyTtlMs: number,
  ) {
    this.#client = client;
    this.#markClosed = markClosed;
    this.#scripts = scripts;
    this.#where = where;
    this.#prefix = prefix;
    this.#keys = redisKeys(prefix);
    this.#ttl = intArg(idempotencyTtlMs, "idempotency TTL");
  }

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    const k = this.#keys;
    const record: ReservationRecord = {
      reservationId: input.reservationId,
      holds: input.holds.map((h) => ({ counter: h.counter, amount: h.amount })),
      leaseUntil: input.leaseUntil,
      meta: input.meta,
    };
    const args = [
      input.reservationId,
      String(input.leaseUntil),
      JSON.stringify(record),
    ];
    for (const hold of input.holds) {
      args.push(
        intArg(hold.bucket, "bucket"),
        intArg(hold.span, "span"),
        String(hold.limit),
        intArg(hold.amount, "hold amount"),
      );
    }
    const reply = await this.#run<[number, ...unknown[]]>(
      "reserve",
      [
        k.reservation(input.reservationId),
        k.leases,
        k.seq,
        ...input.holds.map((h) => k.counter(h.counter)),
      ],
      args,
    );
    if (reply[0] === 0) {
      const hold = input.holds[(reply[1] as number) - 1];
      const value = counterValue(reply[2] as string[]);
      const reading = readCounter(value, hold);
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
    const readings = input.holds.map((h, i) =>
      readCounter(counterValue(reply[i + 1] as string[]), h)
    );
    return reply[0] === 2
      ? { ok: true, existing: true, readings }
      : { ok: true, readings };
  }

  async settle(
    reservationId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<boolean> {
    const k = this.#keys;
    const usage = this.#usage(adds, record);
    const reply = await this.#run<number>("settle", [
      k.reservation(reservationId),
      k.leases,
      k.seq,
      k.idempotency(SETTLED_ID_PREFIX + reservationId),
      ...usage.keys,
    ], [this.#prefix, reservationId, this.#ttl, ...usage.args]);
    return reply === 1;
  }

  async release(reservationId: string): Promise<boolean> {
    const k = this.#keys;
    const reply = await this.#run<number>(
      "release",
      [k.reservation(reservationId), k.leases, k.seq],
      [this.#prefix, reservationId],
    );
    return reply === 1;
  }

  async getReservation(
    reservationId: string,
  ): Promise<ReservationRecord | null> {
    const raw = await this.#call(() =>
      this.#client.get(this.#keys.reservation(reservationId))
    );
    return raw === null ? null : JSON.parse(raw) as ReservationRecord;
  }

  async sweepExpired(now: number): Promise<number> {
    return await this.#run<number>(
      "sweep",
      [this.#keys.leases, this.#keys.seq],
      [this.#prefix, String(now), String(SWEEP_BATCH)],
    );
  }

  async record(
    idempotencyId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<"recorded" | "duplicate"> {
    const k = this.#keys;
    const usage = this.#usage(adds, record);
    const reply = await this.#run<number>(
      "record",
      [k.idempotency(idempotencyId), k.seq, ...usage.keys],
      [this.#prefix, this.#ttl, ...usage.args],
    );
    return reply === 1 ? "recorded" : "duplicate";
  }

  async readCounters(positions: CounterPosition[]): Promise<CounterReading[]> {
    if (positions.length === 0) return [];
    const reply = await this.#run<string[][]>(
      "readCounters",
      positions.map((p) => this.#keys.counter(p.counter)),
      [],
    );
    return positions.map((p, i) => readCounter(counterValue(reply[i]), p));
  }

  async listRecent(limit: number): Promise<UsageRecord[]> {
    if (!(limit >= 1)) return [];
    const reply = await this.#run<(string | null)[]>(
      "listRecent",
      [this.#keys.recordIndex, this.#keys.records],
      [String(Math.floor(limit))],
    );
    return reply.filter((raw): raw is string => raw !== null).map((raw) =>
      JSON.parse(raw) as UsageRecord
    );
  }

  async listRollups(from: number, to: number): Promise<UsageRollup[]> {
    const reply = await this.#run<[string, string[]][]>(
      "listRollups",
      [this.#keys.rollupMinutes],
      [this.#prefix, String(from), String(to)],
    );
    const rollups: UsageRollup[] = [];
    for (const [minuteText, flat] of reply) {
      const minute = Number(minuteText);
      const byCall = new Map<string, UsageRollup>();
      for (let i = 0; i < flat.length; i += 2) {
        const [key, model, field] = JSON.parse(flat[i]) as [
          string,
          string,
          (typeof ROLLUP_FIELDS)[number],
        ];
        const id = JSON.stringify([key, model]);
        let rollup = byCall.get(id);
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
          byCall.set(id, rollup);
        }
        rollup[field] = Number(flat[i + 1]);
      }
      rollups.push(
        ...[...byCall.values()].sort((a, b) =>
          byText(a.key, b.key) || byText(a.model, b.model)
        ),
      );
    }
    return rollups;
  }

  async pruneRecords(before: number): Promise<number> {
    let pruned = 0;
    while (true) {
      const n = await this.#run<number>(
        "pruneRecords",
        [this.#keys.recordIndex, this.#keys.records, this.#keys.seq],
        [String(before), String(PRUNE_BATCH)],
      );
      pruned += n;
      if (n < PRUNE_BATCH) return pruned;
    }
  }

  async putKey(key: VirtualKey): Promise<void> {
    const k = this.#keys;
    await this.#run<number>("putKey", [k.keys, k.keyHashes, k.seq], [
      key.name,
      key.hash,
      JSON.stringify(key),
    ]);
  }

  async getKeyByName(name: string): Promise<VirtualKey | null> {
    const raw = await this.#call(() =>
      this.#client.hget(this.#keys.keys, name)
    );
    return raw === null ? null : JSON.parse(raw) as VirtualKey;
  }

  async getKeyByHash(hash: string): Promise<VirtualKey | null> {
    const raw = await this.#run<string | null>(
      "getKeyByHash",
      [this.#keys.keyHashes, this.#keys.keys],
      [hash],
    );
    if (raw === null) return null;
    const key = JSON.parse(raw) as VirtualKey;
    return key.hash === hash ? key : null;
  }

  async listKeys(): Promise<VirtualKey[]> {
    return await this.#listHash<VirtualKey>(this.#keys.keys);
  }

  async putLimit(limit: LimitDefinition): Promise<void> {
    await this.#run<number>("hsetBump", [this.#keys.limits, this.#keys.seq], [
      limit.id,
      JSON.stringify(limit),
    ]);
  }

  async deleteLimit(id: string): Promise<boolean> {
    const n = await this.#run<number>(
      "hdelBump",
      [this.#keys.limits, this.#keys.seq],
      [id],
    );
    return n === 1;
  }

  async listLimits(): Promise<LimitDefinition[]> {
    return await this.#listHash<LimitDefinition>(this.#keys.limits);
  }

  async putUpstream(quota: UpstreamQuota): Promise<void> {
    await this.#run<number>("hsetBump", [this.#keys.upstream, this.#keys.seq], [
      quota.keyId,
      JSON.stringify(quota),
    ]);
  }

  async listUpstream(): Promise<UpstreamQuota[]> {
    return await this.#listHash<UpstreamQuota>(this.#keys.upstream);
  }

  async changeSeq(): Promise<number> {
    const raw = await this.#call(() => this.#client.get(this.#keys.seq));
    return raw === null ? 0 : Number(raw);
  }

  close(): void {
    this.#markClosed();
    this.#client.disconnect();
  }

  /** The keys and arguments of a usage block (see `write_usage` in the scripts). */
  #usage(adds: CounterAdd[], record: UsageRecord) {
    const minute = Math.floor(record.at / MINUTE_MS) * MINUTE_MS;
    const args = [
      `${record.at}:${record.id}`,
      JSON.stringify(record),
      String(record.at),
      String(minute),
    ];
    const amounts = {
      requests: 1,
      inputTokens: record.inputTokens,
      outputTokens: record.outputTokens,
      costNanos: record.costNanos,
    };
    for (const field of ROLLUP_FIELDS) {
      args.push(
        JSON.stringify([record.key, record.model, field]),
        intArg(amounts[field], field),
      );
    }
    for (const add of adds) {
      args.push(
        add.counter,
        intArg(add.bucket, "bucket"),
        intArg(add.span, "span"),
        intArg(add.amount, "usage amount"),
      );
    }
    const k = this.#keys;
    return {
      keys: [k.recordIndex, k.records, k.rollupMinutes, k.rollup(minute)],
      args,
    };
  }

  async #listHash<T>(key: string): Promise<T[]> {
    const all = await this.#call(() => this.#client.hgetall(key));
    return Object.keys(all).sort(byText).map((field) =>
      JSON.parse(all[field]) as T
    );
  }

  /** Runs a script by its SHA, sending the source only when Redis does not know it (NOSCRIPT). */
  async #run<T>(name: ScriptName, keys: string[], args: string[]): Promise<T> {
    const script = this.#scripts[name];
    return await this.#call(async () => {
      try {
        return await this.#client.evalsha(
          script.sha,
          keys.length,
          ...keys,
          ...args,
        ) as T;
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) {
          throw error;
        }
        return await this.#client.eval(
          script.source,
          keys.length,
          ...keys,
          ...args,
        ) as T;
      }
    });
  }

  /** Runs a client call, turning "Redis could not serve it" into StoreUnavailableError. */
  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (isConnectionFailure(error)) throw unavailable(this.#where, error);
      throw new Error(
        `The Redis quota store at ${this.#where} refused a call: ${
          error instanceof Error ? error.message : error
        }`,
        { cause: error },
      );
    }
  }
}
