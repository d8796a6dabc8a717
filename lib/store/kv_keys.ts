/**
 * The Deno KV key layout of the quota store, in one place.
 *
 * @module
 */

/** A counter: its bucket ring and held sum. */
export const counterKey = (counter: string): Deno.KvKey => ["ctr", counter];
/** A live reservation. */
export const reservationKey = (id: string): Deno.KvKey => ["res", id];
/** Lease index: reservations ordered by when their lease ends, for sweeping. */
export const leaseKey = (leaseUntil: number, id: string): Deno.KvKey => [
  "lease",
  leaseUntil,
  id,
];
/** Lease index prefix. */
export const LEASE_PREFIX: Deno.KvKey = ["lease"];
/** An idempotency marker: this id was recorded. */
export const idempotencyKey = (id: string): Deno.KvKey => ["idem", id];
/** A raw usage record, ordered by time. */
export const recordKey = (
  at: number,
  id: string,
): Deno.KvKey => ["rec", at, id];
/** Raw records prefix. */
export const RECORD_PREFIX: Deno.KvKey = ["rec"];
/** One field of a per-minute rollup (a KvU64 sum). */
export const rollupKey = (
  minute: number,
  key: string,
  model: string,
  field: RollupField,
): Deno.KvKey => ["roll", minute, key, model, field];
/** Rollups prefix. */
export const ROLLUP_PREFIX: Deno.KvKey = ["roll"];
/** The summed fields of a rollup. */
export type RollupField =
  | "requests"
  | "inputTokens"
  | "outputTokens"
  | "costNanos";
/** Every rollup field. */
export const ROLLUP_FIELDS: readonly RollupField[] = [
  "requests",
  "inputTokens",
  "outputTokens",
  "costNanos",
];
/** A virtual key by name. */
export const virtualKeyKey = (name: string): Deno.KvKey => ["vk", name];
/** Virtual keys prefix. */
export const VIRTUAL_KEY_PREFIX: Deno.KvKey = ["vk"];
/** A virtual key's name by secret hash. */
export const keyHashKey = (hash: string): Deno.KvKey => ["vkh", hash];
/** An admin-made limit. */
export const limitKey = (id: string): Deno.KvKey => ["lim", id];
/** Limits prefix. */
export const LIMIT_PREFIX: Deno.KvKey = ["lim"];
/** The provider's own quota for one upstream key. */
export const upstreamKey = (keyId: string): Deno.KvKey => ["up", keyId];
/** Upstream prefix. */
export const UPSTREAM_PREFIX: Deno.KvKey = ["up"];
