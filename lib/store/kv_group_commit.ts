/**
 * Group commit for Deno KV: queued write operations are decided together
 * against one read of the keys they need and committed in ONE atomic
 * operation, checked by versionstamp. Within a process only one batch is in
 * flight, so callers never conflict with each other; across processes a
 * conflicting commit is re-read and re-decided, with jittered backoff.
 * Every caller's promise settles only after its data is committed.
 *
 * What a committed batch wrote (and what it read) is remembered with its
 * versionstamp, so the next batch usually decides without reading at all: a
 * key never seen is taken as absent. The commit checks every such assumption
 * by versionstamp, exactly as it checks a fresh read, so a stale memory (a
 * write by another process) only makes that commit fail; the batch is then
 * re-read and re-decided. This halves the Deno KV round trips of a call.
 *
 * Batches respect Deno KV's limits: 10 keys per getMany, 100 checks and 1000
 * mutations per atomic operation.
 *
 * @module
 */

import {
  backoff,
  busyError,
  isLockedError,
  MAX_KV_ATTEMPTS,
} from "./kv_retry.ts";

/** Deno KV's own ceilings (measured on 2.9.6). */
const MAX_GET_MANY = 10;
const MAX_CHECKS = 100;
const MAX_MUTATIONS = 1000;
/** Batches stay well under the 800 KiB mutation size limit. */
const MAX_OPS_PER_BATCH = 64;
/** Keys whose last known entry is remembered (oldest forgotten first). */
const MAX_REMEMBERED = 20_000;

/** What an operation sees while it is decided: the keys it declared, plus earlier writes in its batch. */
export interface WriteView {
  /** Reads a declared key (an earlier operation's write in the same batch wins). */
  get<T>(key: Deno.KvKey): T | null;
  /** Writes a key read through this view. */
  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): void;
  /** Deletes a key. */
  delete(key: Deno.KvKey): void;
  /** Adds a mutation that needs no read (a new unique key, a sum). */
  blind(mutation: (op: Deno.AtomicOperation) => void): void;
}

/** One write operation: the keys it reads, a bound on its mutations, and a pure decision. */
export interface WriteOp<T> {
  keys: Deno.KvKey[];
  /** An upper bound on the mutations it adds. */
  mutations: number;
  /** Decides against the view and writes into it; must not touch anything else. */
  apply(view: WriteView): T;
}

interface Pending {
  op: WriteOp<unknown>;
  keyIds: string[];
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Staged {
  key: Deno.KvKey;
  value: unknown;
  deleted: boolean;
  expireIn?: number;
}

/**
 * A string that names a key exactly: each part tagged by its type, so that
 * "1" and 1 differ. Called several times per operation, so it avoids
 * JSON.stringify with a replacer, which dominated the profile.
 */
function keyId(key: Deno.KvKey): string {
  let id = "";
  for (const part of key) {
    switch (typeof part) {
      case "string":
        id += `s${part.length}:${part}`;
        break;
      case "number":
        id += `n${Object.is(part, -0) ? "-0" : part};`;
        break;
      case "bigint":
        id += `b${part};`;
        break;
      case "boolean":
        id += part ? "t;" : "f;";
        break;
      default:
        id += `u${(part as Uint8Array).join(",")};`;
    }
  }
  return id;
}

/** The change counter every committing batch bumps, so other processes notice writes. */
export const CHANGE_SEQ_KEY: Deno.KvKey = ["seq"];

/** Serializes and batches write operations on one Deno KV handle. */
export class GroupCommitter {
  #kv: Deno.Kv;
  #queue: Pending[] = [];
  #running = false;
  /** Last known entry per key id; a key missing here is assumed absent. */
  #known = new Map<string, Deno.KvEntryMaybe<unknown>>();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Queues an operation; resolves with its decision once it is committed. */
  run<T>(op: WriteOp<T>): Promise<T> {
    const keyIds = [...new Set(op.keys.map(keyId))];
    if (keyIds.length > MAX_CHECKS || op.mutations + 1 > MAX_MUTATIONS) {
      return Promise.reject(
        new Error(
          "A quota write touches more keys than one Deno KV commit allows.",
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        op,
        keyIds,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        await this.#commitBatch(batch);
      }
    } finally {
      this.#running = false;
    }
  }

  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const keys = new Set<string>();
    let mutations = 1;
    while (this.#queue.length > 0 && batch.length < MAX_OPS_PER_BATCH) {
      const next = this.#queue[0];
      const added = next.keyIds.filter((id) => !keys.has(id)).length;
      if (
        batch.length > 0 &&
        (keys.size + added > MAX_CHECKS ||
          mutations + next.op.mutations > MAX_MUTATIONS)
      ) break;
      this.#queue.shift();
      batch.push(next);
      for (const id of next.keyIds) keys.add(id);
      mutations += next.op.mutations;
    }
    return batch;
  }

  async #commitBatch(batch: Pending[]): Promise<void> {
    const keys = new Map<string, Deno.KvKey>();
    for (const pending of batch) {
      for (const key of pending.op.keys) keys.set(keyId(key), key);
    }
    // The first round decides on what this process knows; a round that
    // failed on a stale memory is retried at once on a fresh read.
    let fromMemory = true;
    for (let attempt = 0; attempt < MAX_KV_ATTEMPTS; attempt++) {
      try {
        const outcome = await this.#attempt(batch, keys, fromMemory);
        if (outcome === null) {
          if (!fromMemory) await backoff(attempt);
          fromMemory = false;
          continue;
        }
        batch.forEach((pending, i) => {
          const result = outcome[i];
          if (result.ok) pending.resolve(result.value);
          else pending.reject(result.error);
        });
        return;
      } catch (error) {
        for (const id of keys.keys()) this.#known.delete(id);
        fromMemory = false;
        if (isLockedError(error)) {
          await backoff(attempt);
          continue;
        }
        for (const pending of batch) pending.reject(error);
        return;
      }
    }
    for (const pending of batch) pending.reject(busyError());
  }

  /** The entries of `keys`, from memory where allowed, else read in chunks. */
  async #read(
    keys: Map<string, Deno.KvKey>,
    fromMemory: boolean,
  ): Promise<Map<string, Deno.KvEntryMaybe<unknown>>> {
    const read = new Map<string, Deno.KvEntryMaybe<unknown>>();
    if (fromMemory) {
      for (const [id, key] of keys) {
        read.set(
          id,
          this.#known.get(id) ?? { key, value: null, versionstamp: null },
        );
      }
      return read;
    }
    const reads = await Promise.all(
      chunk([...keys.values()], MAX_GET_MANY).map((part) =>
        this.#kv.getMany(part)
      ),
    );
    for (const entry of reads.flat()) read.set(keyId(entry.key), entry);
    return read;
  }

  /** Remembers what a committed batch left behind. */
  #remember(
    read: Map<string, Deno.KvEntryMaybe<unknown>>,
    staged: Map<string, Staged>,
    versionstamp: string | null,
  ): void {
    for (const [id, entry] of read) {
      if (staged.has(id)) continue;
      this.#keep(id, entry);
    }
    for (const [id, write] of staged) {
      if (write.deleted || versionstamp === null) this.#known.delete(id);
      else {
        this.#keep(id, { key: write.key, value: write.value, versionstamp });
      }
    }
  }

  #keep(id: string, entry: Deno.KvEntryMaybe<unknown>): void {
    // Absent is the default assumption: no need to remember it.
    if (entry.versionstamp === null) {
      this.#known.delete(id);
      return;
    }
    this.#known.delete(id);
    this.#known.set(id, entry);
    if (this.#known.size > MAX_REMEMBERED) {
      this.#known.delete(this.#known.keys().next().value!);
    }
  }

  /** One read-decide-commit round; null when another writer got in between. */
  async #attempt(
    batch: Pending[],
    keys: Map<string, Deno.KvKey>,
    fromMemory: boolean,
  ): Promise<
    ({ ok: true; value: unknown } | { ok: false; error: unknown })[] | null
  > {
    const read = await this.#read(keys, fromMemory);

    const staged = new Map<string, Staged>();
    const blind: ((op: Deno.AtomicOperation) => void)[] = [];
    const results = batch.map((pending) => {
      const mine = new Set(pending.keyIds);
      const local = new Map<string, Staged>();
      const localBlind: ((op: Deno.AtomicOperation) => void)[] = [];
      const view: WriteView = {
        get<T>(key: Deno.KvKey): T | null {
          const id = keyId(key);
          if (!mine.has(id)) {
            throw new Error(`Key ${id} was read without being declared.`);
          }
          const write = local.get(id) ?? staged.get(id);
          if (write) return write.deleted ? null : write.value as T;
          return (read.get(id)?.value ?? null) as T | null;
        },
        set(key, value, options) {
          local.set(keyId(key), {
            key,
            value,
            deleted: false,
            expireIn: options?.expireIn,
          });
        },
        delete(key) {
          local.set(keyId(key), { key, value: null, deleted: true });
        },
        blind(mutation) {
          localBlind.push(mutation);
        },
      };
      try {
        const value = pending.op.apply(view);
        // Only a decision that returned keeps its writes: a throwing one leaves the batch as it was.
        for (const [id, write] of local) staged.set(id, write);
        blind.push(...localBlind);
        return { ok: true as const, value };
      } catch (error) {
        return { ok: false as const, error };
      }
    });

    if (staged.size === 0 && blind.length === 0) {
      // A decision that wrote nothing rests on what it read: when that came
      // from memory, confirm it with a real read (an empty check-only commit
      // would be as dear), and remember what the read found.
      if (!fromMemory) {
        for (const [id, entry] of read) this.#keep(id, entry);
        return results;
      }
      return null;
    }
    const atomic = this.#kv.atomic();
    // Every key read is checked: a decision may rest on a key it did not write (a refusal, an idempotency hit).
    for (const entry of read.values()) {
      atomic.check({ key: entry.key, versionstamp: entry.versionstamp });
    }
    for (const write of staged.values()) {
      if (write.deleted) atomic.delete(write.key);
      else {atomic.set(
          write.key,
          write.value,
          write.expireIn ? { expireIn: write.expireIn } : undefined,
        );}
    }
    for (const mutation of blind) mutation(atomic);
    atomic.sum(CHANGE_SEQ_KEY, 1n);
    const committed = await atomic.commit();
    if (!committed.ok) {
      for (const id of read.keys()) this.#known.delete(id);
      return null;
    }
    this.#remember(read, staged, committed.versionstamp);
    return results;
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    parts.push(items.slice(i, i + size));
  }
  return parts;
}
