/**
 * The quota engine: decides whether a call may go ahead, holds what it may
 * cost against every limit that applies, replaces the hold with real usage
 * afterwards, and reports where every limit stands. REST routes, the proxy
 * and the live hub all go through it; the status they serve comes from
 * `status()` alone.
 *
 * @module
 */

import type {
  CounterHold,
  CounterPosition,
  QuotaStore,
} from "../store/store.ts";
import { SETTLED_ID_PREFIX } from "../store/store.ts";
import { type Clock, systemClock } from "./clock.ts";
import { QuotaInputError } from "./errors.ts";
import { type CompiledLimit, compileLimit, parseLimitInput } from "./limits.ts";
import { refusalMessage, retryAfterMs } from "./refusal.ts";
import {
  compareScopes,
  isValidKeyName,
  isValidModelName,
  scopesForCall,
  scopeVisibleToKey,
} from "./scope.ts";
import { DEFAULT_WARN_AT, limitStatus, nextChangeAt } from "./status.ts";
import { METRICS } from "./types.ts";
import type {
  LimitDefinition,
  LimitStatus,
  QuotaStatus,
  ScopeStatus,
  UsageRecord,
} from "./types.ts";
import { type CallAmounts, metricAmount, toUser } from "./units.ts";
import { canonicalTimeZone } from "./zoned_time.ts";
import { windowPosition } from "./windows.ts";

/** What a call may use at most, held at admission. A call is always 1 request. */
export interface Estimate {
  inputTokens: number;
  outputTokens: number;
  costNanos: number;
}

/** How the engine is set up. */
export interface EngineOptions {
  store: QuotaStore;
  /** Epoch-ms clock; the real one by default. */
  clock?: Clock;
  /** Fraction of a limit at which its state turns to warning (0.8). */
  warnAt?: number;
  /** IANA zone for day and month windows without their own zone ("UTC"). */
  timeZone?: string;
  /** How long a reservation holds before a sweep releases it (10 minutes). */
  leaseMs?: number;
  /** Limits from the limits file: read-only through the API. */
  fileLimits?: LimitDefinition[];
  /** How many recent calls the status lists (20). */
  recentSize?: number;
  /** How long raw usage records are kept, in ms (7 days); rollups are kept. */
  retentionMs?: number;
}

/** The answer to an admission. */
export type Admission =
  | {
    ok: true;
    reservationId: string;
    /** The limits that applied, after the hold. */
    limits: LimitStatus[];
  }
  | {
    ok: false;
    /** The limit that refused, as it stands (the refused call changed nothing). */
    limit: LimitStatus;
    /** What the call asked for, in the limit's user unit. */
    requested: number;
    retryAfterMs: number;
    /** A full sentence naming the limit and what to do. */
    message: string;
  };

/** What changed. */
export type ChangeKind =
  | "admit"
  | "settle"
  | "release"
  | "report"
  | "limit"
  | "sweep"
  | "rollover"
  | "store";

/** A change the engine made or noticed. */
export interface QuotaChange {
  kind: ChangeKind;
  at: number;
}

/** What one maintenance round did. */
export interface MaintenanceReport {
  swept: number;
  pruned: number;
}

const DEFAULT_LEASE_MS = 10 * 60_000;
const DEFAULT_RECENT_SIZE = 20;
const DEFAULT_RETENTION_MS = 7 * 86_400_000;
/** Limits made through another process's API reach this one within this time. */
const LIMIT_CACHE_MS = 1000;
const PRUNE_EVERY_MS = 60_000;
/** Recent records read per status filtered to a key, before filtering. */
const RECENT_OVERSCAN = 10;

interface LimitSet {
  loadedAt: number;
  all: CompiledLimit[];
  byScope: Map<string, CompiledLimit[]>;
}

/** The quota engine. One per process; several processes may share a store. */
export class QuotaEngine {
  #store: QuotaStore;
  #clock: Clock;
  #warnAt: number;
  #timeZone: string;
  #leaseMs: number;
  #recentSize: number;
  #retentionMs: number;
  #fileLimits: LimitDefinition[];
  #fileIds: Set<string>;
  #limits: LimitSet | null = null;
  #loading: Promise<LimitSet> | null = null;
  #listeners = new Set<(change: QuotaChange) => void>();
  #nextChangeAt: number | null = null;
  #lastSeq: number | null = null;
  #lastPrune = -Infinity;

  /** @throws QuotaInputError when a file limit, the zone or warnAt is invalid. */
  constructor(options: EngineOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#warnAt = options.warnAt ?? DEFAULT_WARN_AT;
    if (!(this.#warnAt > 0 && this.#warnAt <= 1)) {
      throw new QuotaInputError(
        "The warning threshold must be a fraction above 0 and at most 1, such as 0.8.",
        "invalid_limit",
        "warnAt",
      );
    }
    const zone = canonicalTimeZone(options.timeZone ?? "UTC");
    if (zone === null) {
      throw new QuotaInputError(
        `The time zone "${options.timeZone}" is not a known IANA time zone; use a name such as "UTC" or "Europe/Berlin".`,
        "invalid_window",
        "timeZone",
      );
    }
    this.#timeZone = zone;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#recentSize = options.recentSize ?? DEFAULT_RECENT_SIZE;
    this.#retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#fileLimits = (options.fileLimits ?? []).map((def) =>
      compileLimit({ ...def, source: "file" }, this.#timeZone).def
    );
    this.#fileIds = new Set(this.#fileLimits.map((def) => def.id));
  }

  /** The warning threshold in use. */
  get warnAt(): number {
    return this.#warnAt;
  }

  /**
   * Admits a call or refuses it. Admission holds the estimate against every
   * limit on the gateway, the key, the model and the key with the model,
   * atomically; all must have room. A refusal changes nothing. Passing a
   * `reservationId` that is already held returns that reservation again.
   */
  async admit(
    call: {
      key: string;
      model: string;
      estimate: Estimate;
      reservationId?: string;
      leaseMs?: number;
    },
  ): Promise<Admission> {
    checkCall(call.key, call.model);
    checkAmounts(call.estimate, "estimate");
    const now = this.#clock();
    const limits = await this.#applicable(call.key, call.model);
    const reservationId = call.reservationId ?? crypto.randomUUID();
    const amounts: CallAmounts = call.estimate;
    const holds = holdsFor(limits, now, amounts);
    if (holds.length === 0) return { ok: true, reservationId, limits: [] };

    const result = await this.#store.reserve({
      reservationId,
      holds,
      leaseUntil: now + (call.leaseMs ?? this.#leaseMs),
      meta: {
        key: call.key,
        model: call.model,
        at: now,
        estimate: { ...call.estimate },
      },
    });
    if (!result.ok) {
      const limit = limits.find((l) => l.def.id === result.limitId) ??
        limits.find((l) => l.counter === result.counter)!;
      const facts = {
        used: result.used,
        reserved: result.reserved,
        requested: result.requested,
        buckets: result.buckets ??
          (result.lastBucket === null
            ? []
            : [[result.lastBucket, result.used] as [number, number]]),
      };
      const wait = retryAfterMs(limit, facts, now);
      return {
        ok: false,
        limit: limitStatus(
          limit,
          {
            used: result.used,
            reserved: result.reserved,
            lastBucket: result.lastBucket,
          },
          now,
          this.#warnAt,
        ),
        requested: toUser(limit.def.metric, result.requested),
        retryAfterMs: wait,
        message: refusalMessage(limit, facts, wait),
      };
    }
    const readings = result.readings ?? await this.#store.readCounters(holds);
    const byCounter = new Map(holds.map((h, i) => [h.counter, readings[i]]));
    if (!result.existing) this.#emit("admit", now);
    return {
      ok: true,
      reservationId,
      limits: limits.map((l) =>
        limitStatus(l, byCounter.get(l.counter)!, now, this.#warnAt)
      ),
    };
  }

  /**
   * Replaces a reservation's hold with the call's real usage, counted now
   * against the limits that apply to `record.key` and `record.model`.
   * When the reservation is gone because its lease ran out, the usage is
   * still counted once. Returns false when this reservation was settled
   * already (a retry): nothing is counted twice.
   */
  async settle(reservationId: string, record: UsageRecord): Promise<boolean> {
    checkRecord(record);
    const now = this.#clock();
    const adds = await this.#addsFor(record, now);
    if (await this.#store.settle(reservationId, adds, record)) {
      this.#emit("settle", now);
      return true;
    }
    const outcome = await this.#store.record(
      SETTLED_ID_PREFIX + reservationId,
      adds,
      record,
    );
    if (outcome === "duplicate") return false;
    this.#emit("settle", now);
    return true;
  }

  /** Frees a reservation when its call never reached the provider. False when it was gone. */
  async release(reservationId: string): Promise<boolean> {
    const released = await this.#store.release(reservationId);
    if (released) this.#emit("release", this.#clock());
    return released;
  }

  /**
   * Counts usage of a call made directly to the provider, once per
   * idempotency id, without checking limits (the call has happened).
   */
  async report(
    idempotencyId: string,
    record: UsageRecord,
  ): Promise<"recorded" | "duplicate"> {
    if (
      typeof idempotencyId !== "string" || idempotencyId.length === 0 ||
      idempotencyId.length > 200
    ) {
      throw new QuotaInputError(
        "A usage report needs an id of 1 to 200 characters, so that a retry never counts twice.",
        "invalid_usage",
        "id",
      );
    }
    checkRecord(record);
    const now = this.#clock();
    const outcome = await this.#store.record(
      idempotencyId,
      await this.#addsFor(record, now),
      record,
    );
    if (outcome === "recorded") this.#emit("report", now);
    return outcome;
  }

  /**
   * The status of every scope and limit (or of one key's scopes and the
   * gateway), with the provider's own quota and the most recent calls.
   */
  async status(filter: { key?: string } = {}): Promise<QuotaStatus> {
    const now = this.#clock();
    const key = filter.key;
    const set = await this.#limitSet();
    const limits = key === undefined
      ? set.all
      : set.all.filter((l) => scopeVisibleToKey(l.def.scope, key));
    const readings = await this.#store.readCounters(
      limits.map((l) => positionOf(l, now)),
    );
    const scopes = new Map<string, ScopeStatus>();
    let soonest: number | null = null;
    limits.forEach((limit, i) => {
      const scope = scopes.get(limit.def.scope) ??
        { scope: limit.def.scope, limits: [] };
      scope.limits.push(limitStatus(limit, readings[i], now, this.#warnAt));
      scopes.set(limit.def.scope, scope);
      const change = nextChangeAt(limit, readings[i], now);
      if (change !== null && (soonest === null || change < soonest)) {
        soonest = change;
      }
    });
    // A status for one key sees only its limits: it may bring the next
    // rollover forward, never push back the one the full status found.
    if (key === undefined) {
      this.#nextChangeAt = soonest;
    } else if (
      soonest !== null &&
      (this.#nextChangeAt === null || soonest < this.#nextChangeAt)
    ) {
      this.#nextChangeAt = soonest;
    }
    const [upstream, recent] = await Promise.all([
      this.#store.listUpstream(),
      this.#store.listRecent(
        key === undefined
          ? this.#recentSize
          : this.#recentSize * RECENT_OVERSCAN,
      ),
    ]);
    return {
      generatedAt: new Date(now).toISOString(),
      warnAt: this.#warnAt,
      scopes: [...scopes.values()].sort((a, b) =>
        compareScopes(a.scope, b.scope)
      ),
      upstream,
      recent: (key === undefined ? recent : recent.filter((r) => r.key === key))
        .slice(0, this.#recentSize),
    };
  }

  /** Every limit: those of the limits file, then those made through the API. */
  async limits(): Promise<LimitDefinition[]> {
    return (await this.#limitSet(true)).all.map((l) => l.def);
  }

  /**
   * Creates or replaces a limit made through the API. Usage counted so far
   * is kept when only the ceiling changes.
   *
   * @throws QuotaInputError for bad input, or when the id belongs to the limits file.
   */
  async putLimit(input: unknown): Promise<LimitDefinition> {
    const def = compileLimit(parseLimitInput(input, "api"), this.#timeZone).def;
    if (this.#fileIds.has(def.id)) throw fileLimitError(def.id);
    await this.#store.putLimit(def);
    this.#limits = null;
    this.#emit("limit", this.#clock());
    return def;
  }

  /**
   * Deletes a limit made through the API; false when there is none by that id.
   *
   * @throws QuotaInputError when the id belongs to the limits file.
   */
  async deleteLimit(id: string): Promise<boolean> {
    if (this.#fileIds.has(id)) throw fileLimitError(id);
    const deleted = await this.#store.deleteLimit(id);
    this.#limits = null;
    if (deleted) this.#emit("limit", this.#clock());
    return deleted;
  }

  /** Subscribes to every change the engine makes or notices; returns the unsubscribe function. */
  onChange(listener: (change: QuotaChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * One maintenance round: releases reservations whose lease ended, prunes
   * raw records past retention (at most once a minute), announces a window
   * rollover seen by the last status, and notices writes by other processes
   * sharing the store. Call it on a timer (see `startMaintenance`).
   */
  async maintain(now: number = this.#clock()): Promise<MaintenanceReport> {
    const swept = await this.#store.sweepExpired(now);
    if (swept > 0) this.#emit("sweep", now);
    let pruned = 0;
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      pruned = await this.#store.pruneRecords(now - this.#retentionMs);
    }
    if (this.#nextChangeAt !== null && now >= this.#nextChangeAt) {
      this.#nextChangeAt = null;
      this.#emit("rollover", now);
    }
    const seq = await this.#store.changeSeq();
    if (this.#lastSeq !== null && seq !== this.#lastSeq) {
      this.#limits = null;
      this.#emit("store", now);
    }
    this.#lastSeq = seq;
    return { swept, pruned };
  }

  /**
   * Runs `maintain` every `intervalMs` (250 ms by default, so that changes
   * from other processes show within a second) until the returned function
   * is called. The timer never keeps the process alive.
   */
  startMaintenance(intervalMs = 250): () => void {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = (delay: number) => {
      const next = setTimeout(tick, delay);
      Deno.unrefTimer(next);
      timer = next;
    };
    const tick = async () => {
      try {
        await this.maintain();
      } catch (error) {
        console.error(
          `Quota maintenance failed and will be retried: ${
            error instanceof Error ? error.message : error
          }`,
        );
      }
      if (!stopped) schedule(intervalMs);
    };
    schedule(0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  #emit(kind: ChangeKind, at: number): void {
    for (const listener of this.#listeners) {
      try {
        listener({ kind, at });
      } catch (error) {
        console.error(
          `A quota change listener failed: ${
            error instanceof Error ? error.message : error
          }`,
        );
      }
    }
  }

  async #applicable(key: string, model: string): Promise<CompiledLimit[]> {
    const set = await this.#limitSet();
    return scopesForCall(key, model).flatMap((scope) =>
      set.byScope.get(scope) ?? []
    );
  }

  async #addsFor(record: UsageRecord, now: number) {
    const limits = await this.#applicable(record.key, record.model);
    const seen = new Map<string, CounterPosition & { amount: number }>();
    for (const limit of limits) {
      if (seen.has(limit.counter)) continue;
      seen.set(limit.counter, {
        ...positionOf(limit, now),
        amount: metricAmount(limit.def.metric, record),
      });
    }
    return [...seen.values()];
  }

  async #limitSet(fresh = false): Promise<LimitSet> {
    const cached = this.#limits;
    if (
      !fresh && cached && performance.now() - cached.loadedAt < LIMIT_CACHE_MS
    ) return cached;
    this.#loading ??= this.#loadLimits().finally(() => {
      this.#loading = null;
    });
    return await this.#loading;
  }

  async #loadLimits(): Promise<LimitSet> {
    const stored = await this.#store.listLimits();
    const all: CompiledLimit[] = this.#fileLimits.map((def) =>
      compileLimit(def, this.#timeZone)
    );
    for (const def of stored) {
      if (this.#fileIds.has(def.id)) continue;
      try {
        all.push(compileLimit(def, this.#timeZone));
      } catch (error) {
        console.error(
          `The stored limit ${def.id} is skipped: ${
            error instanceof Error ? error.message : error
          }`,
        );
      }
    }
    all.sort((a, b) =>
      compareScopes(a.def.scope, b.def.scope) ||
      METRICS.indexOf(a.def.metric) - METRICS.indexOf(b.def.metric)
    );
    const byScope = new Map<string, CompiledLimit[]>();
    for (const limit of all) {
      byScope.set(limit.def.scope, [
        ...(byScope.get(limit.def.scope) ?? []),
        limit,
      ]);
    }
    const set = { loadedAt: performance.now(), all, byScope };
    this.#limits = set;
    return set;
  }
}

/** Where a limit's counter stands at `now`. */
function positionOf(limit: CompiledLimit, now: number): CounterPosition {
  return { counter: limit.counter, ...windowPosition(limit.spec, now) };
}

/** One hold per counter; when two limits share a counter, the stricter ceiling decides. */
function holdsFor(
  limits: CompiledLimit[],
  now: number,
  amounts: CallAmounts,
): CounterHold[] {
  const holds = new Map<string, CounterHold>();
  for (const limit of limits) {
    const existing = holds.get(limit.counter);
    if (existing && existing.limit <= limit.ceiling) continue;
    holds.set(limit.counter, {
      ...positionOf(limit, now),
      limitId: limit.def.id,
      limit: limit.ceiling,
      amount: metricAmount(limit.def.metric, amounts),
    });
  }
  return [...holds.values()];
}

function checkCall(key: string, model: string): void {
  if (!isValidKeyName(key)) {
    throw new QuotaInputError(
      `The key name "${
        String(key).slice(0, 80)
      }" is not valid; key names use letters, digits, ".", "_" or "-".`,
      "invalid_usage",
      "key",
    );
  }
  if (!isValidModelName(model)) {
    throw new QuotaInputError(
      `The model "${
        String(model).slice(0, 80)
      }" is not valid; name a model such as "gpt-4o-mini".`,
      "invalid_usage",
      "model",
    );
  }
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function checkAmounts(amounts: CallAmounts, param: string): void {
  for (const field of ["inputTokens", "outputTokens", "costNanos"] as const) {
    if (!isCount(amounts?.[field])) {
      throw new QuotaInputError(
        `The ${param}'s ${field} must be a whole number of at least 0.`,
        "invalid_usage",
        `${param}.${field}`,
      );
    }
  }
}

function checkRecord(record: UsageRecord): void {
  checkCall(record.key, record.model);
  checkAmounts(record, "usage");
  if (
    !isCount(record.cachedTokens) || record.cachedTokens > record.inputTokens
  ) {
    throw new QuotaInputError(
      "Cached tokens must be a whole number no larger than the input tokens.",
      "invalid_usage",
      "cachedTokens",
    );
  }
  if (
    !isCount(record.reasoningTokens) ||
    record.reasoningTokens > record.outputTokens
  ) {
    throw new QuotaInputError(
      "Reasoning tokens must be a whole number no larger than the output tokens.",
      "invalid_usage",
      "reasoningTokens",
    );
  }
  if (
    !Number.isFinite(record.at) || typeof record.id !== "string" ||
    record.id.length === 0
  ) {
    throw new QuotaInputError(
      "A usage record needs an id and a time.",
      "invalid_usage",
      "id",
    );
  }
}

function fileLimitError(id: string): QuotaInputError {
  return new QuotaInputError(
    `The limit ${id} comes from the limits file; change it in the file (QUOTA_LIMITS_FILE) and restart, or create a limit with another id.`,
    "file_limit",
    "id",
  );
}
