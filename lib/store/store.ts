/**
 * The persistence interface behind the quota engine. Deno KV implements it for
 * one instance (and for several processes sharing one database file); Redis
 * implements it for fleets. The engine computes bucket indices with pure code
 * from `lib/quota/`, so a backend only adds, sums and compares numbers.
 *
 * A counter is a ring of buckets: usage at time t goes into bucket
 * `floor(t / bucketMs)` of a rolling window (or the period number of a calendar
 * window), and a counter's `used` is the sum of buckets `b` with
 * `current - span < b <= current`. `reserved` is a plain sum, independent of
 * buckets, of every live reservation's hold on the counter.
 *
 * A hold of `amount` fits when `used + reserved + amount <= limit`; a hold of
 * 0 fits only while `used + reserved < limit`, so that an exhausted limit
 * refuses even a call that estimates nothing.
 *
 * @module
 */

import type {
  LimitDefinition,
  UpstreamQuota,
  UsageRecord,
} from "../quota/types.ts";

/** The idempotency-id prefix under which `settle` marks a reservation as settled. */
export const SETTLED_ID_PREFIX = "reservation:";

/** Where one counter stands now. */
export interface CounterPosition {
  /** Counter id: scope, metric and canonical window (see `counterId`). */
  counter: string;
  /** The current bucket index. */
  bucket: number;
  /** How many buckets, ending at `bucket`, count as used. */
  span: number;
}

/** One limit's share of a reservation: hold `amount` if it fits under `limit`. */
export interface CounterHold extends CounterPosition {
  /** The limit this hold is checked against (for the refusal message). */
  limitId: string;
  /** The ceiling, in internal units (nano-dollars for cost). */
  limit: number;
  amount: number;
}

/** Usage to add to a counter's current bucket. */
export interface CounterAdd extends CounterPosition {
  amount: number;
}

/** What a counter holds. */
export interface CounterReading {
  used: number;
  reserved: number;
  /** The newest bucket index with usage in the window, or null when empty. */
  lastBucket: number | null;
  /** The oldest bucket index with usage in the window, or null when empty (optional). */
  firstBucket?: number | null;
}

/** A request to hold amounts against several counters at once. */
export interface ReserveInput {
  reservationId: string;
  holds: CounterHold[];
  /** Epoch ms after which a reservation nobody settled is released by a sweep. */
  leaseUntil: number;
  /** Whatever the engine needs back at settlement (key, model, estimate). */
  meta: Record<string, unknown>;
}

/** The outcome of a reservation: all holds taken, or none and the first limit that refused. */
export type ReserveResult =
  | {
    ok: true;
    /** True when a reservation with this id existed already: nothing new was held. */
    existing?: boolean;
    /** Optional: each hold's counter after the reservation, in the order of `holds`. */
    readings?: CounterReading[];
  }
  | {
    ok: false;
    limitId: string;
    counter: string;
    used: number;
    reserved: number;
    limit: number;
    requested: number;
    lastBucket: number | null;
    /** Optional: the refusing counter's buckets in the window, oldest first, as [bucket, amount]. */
    buckets?: [number, number][];
  };

/** A stored reservation. */
export interface ReservationRecord {
  reservationId: string;
  holds: { counter: string; amount: number }[];
  leaseUntil: number;
  meta: Record<string, unknown>;
}

/** A virtual key. The secret itself is never stored: only its SHA-256 hash. */
export interface VirtualKey {
  name: string;
  /** Hex SHA-256 of the secret. */
  hash: string;
  /** First characters of the secret, shown so people can tell keys apart. */
  prefix: string;
  createdAt: string;
  revokedAt?: string;
  /** "virtual" for admin-made keys, "passthrough" for callers identified by their provider key's hash. */
  kind: "virtual" | "passthrough";
}

/** One minute of usage for one key and model, for charts. */
export interface UsageRollup {
  /** Epoch ms of the minute's start. */
  minute: number;
  key: string;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costNanos: number;
}

/** The persistence interface. Every method is atomic on its own. */
export interface QuotaStore {
  /** Takes every hold or none, atomically, also across processes. A refusal changes nothing. */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /**
   * Removes the reservation's holds and adds real usage, writes the record and
   * its rollup, in one atomic commit. Returns false (and adds nothing) when the
   * reservation is unknown (settled, released or swept already). The same
   * commit marks the idempotency id `reservation:<reservationId>` as used, so
   * that `record("reservation:<id>", ...)` afterwards is a duplicate: the
   * engine falls back to it when a lease ran out before settlement.
   */
  settle(
    reservationId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<boolean>;
  /** Frees a reservation's holds. Returns false when it was already gone. */
  release(reservationId: string): Promise<boolean>;
  /** Reads a reservation, or null. */
  getReservation(reservationId: string): Promise<ReservationRecord | null>;
  /** Releases every reservation whose lease ended before `now`; returns how many. */
  sweepExpired(now: number): Promise<number>;
  /**
   * Adds usage reported by a client, once per idempotency id: a second call
   * with the same id adds nothing and returns "duplicate".
   */
  record(
    idempotencyId: string,
    adds: CounterAdd[],
    record: UsageRecord,
  ): Promise<"recorded" | "duplicate">;
  /** Reads several counters at the given positions. */
  readCounters(positions: CounterPosition[]): Promise<CounterReading[]>;

  /** The newest usage records, newest first. */
  listRecent(limit: number): Promise<UsageRecord[]>;
  /** Per-minute rollups with `from <= minute < to`. */
  listRollups(from: number, to: number): Promise<UsageRollup[]>;
  /** Deletes raw records older than `before`; rollups are kept. Returns how many. */
  pruneRecords(before: number): Promise<number>;

  putKey(key: VirtualKey): Promise<void>;
  getKeyByName(name: string): Promise<VirtualKey | null>;
  getKeyByHash(hash: string): Promise<VirtualKey | null>;
  listKeys(): Promise<VirtualKey[]>;

  /** Limits made through the admin API (file limits live in configuration). */
  putLimit(limit: LimitDefinition): Promise<void>;
  deleteLimit(id: string): Promise<boolean>;
  listLimits(): Promise<LimitDefinition[]>;

  putUpstream(quota: UpstreamQuota): Promise<void>;
  listUpstream(): Promise<UpstreamQuota[]>;

  /**
   * A number that grows with every write, seen by every process sharing the
   * store, so that a process can notice changes made by another.
   */
  changeSeq(): Promise<number>;

  close(): void;
}
