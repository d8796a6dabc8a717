/**
 * Redis specifics: what happens when the server goes away, hangs or forgets
 * its scripts, and that prefixes keep deployments apart on one server.
 * Behaviour shared with Deno KV is in conformance_test.ts.
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { StoreUnavailableError } from "../../lib/store/errors.ts";
import { openRedisStore } from "../../lib/store/redis_store.ts";
import type { QuotaStore } from "../../lib/store/store.ts";
import { startRedisServer } from "../support/redis_server.ts";
import { usageRecord } from "./support/store_fixtures.ts";

const RECOVERY_DEADLINE_MS = 15_000;
const QUIET = { onConnectionChange: () => {} };

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `fn` until it returns true or the deadline passes. */
async function eventually(fn: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + RECOVERY_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await delay(50);
  }
  return false;
}

function addAt(at: number) {
  return [{
    counter: "gateway|requests|day@UTC",
    bucket: Math.floor(at / 86_400_000),
    span: 1,
    amount: 1,
  }];
}

/** Writes records in a loop from a few concurrent callers, keeping every outcome. */
function traffic(store: QuotaStore) {
  const acknowledged: string[] = [];
  const failures: unknown[] = [];
  let stopped = false;
  let next = 0;
  const caller = async () => {
    while (!stopped) {
      const id = `t-${next++}`;
      const at = Date.now();
      try {
        await store.record(id, addAt(at), usageRecord(id, at));
        acknowledged.push(id);
      } catch (error) {
        failures.push(error);
        await delay(5);
      }
    }
  };
  const running = Promise.all(Array.from({ length: 4 }, caller));
  return {
    acknowledged,
    failures,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

Deno.test("redis store - opening against a port where nothing listens rejects with StoreUnavailableError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    openRedisStore(`redis://127.0.0.1:${port}`, QUIET),
    (error: unknown) =>
      error instanceof StoreUnavailableError &&
      error.message.includes(`127.0.0.1:${port}`) &&
      /check that Redis is running/.test(error.message),
  );
});

Deno.test({
  name:
    "redis store - calls fail with StoreUnavailableError while redis-server is down mid-traffic, and succeed again after it restarts, without reopening",
  fn: async () => {
    const redis = await startRedisServer({ appendOnly: true });
    const changes: string[] = [];
    const store = await openRedisStore(redis.url, {
      prefix: "outage:",
      onConnectionChange: (state) => changes.push(state),
    });
    try {
      const load = traffic(store);
      assert.ok(
        await eventually(() => Promise.resolve(load.acknowledged.length >= 50)),
      );
      await redis.pause();
      assert.ok(
        await eventually(() => Promise.resolve(load.failures.length >= 20)),
      );
      const beforeRestart = load.acknowledged.length;
      await redis.start();
      assert.ok(
        await eventually(() =>
          Promise.resolve(load.acknowledged.length >= beforeRestart + 50)
        ),
        "calls did not succeed again after the restart",
      );
      await load.stop();

      for (const failure of load.failures) {
        assert.ok(
          failure instanceof StoreUnavailableError,
          `unexpected ${failure}`,
        );
        assert.equal(failure.code, "store_unavailable");
        assert.match(
          failure.message,
          /^The Redis quota store at redis:\/\/127\.0\.0\.1:\d+ did not answer .*\.$/,
        );
      }
      assert.deepEqual(changes.slice(0, 2), ["down", "up"]);
      // Every record acknowledged before, during and after the outage is there (AOF on).
      const stored = new Set(
        (await store.listRecent(100_000)).map((r) => r.id),
      );
      assert.deepEqual(load.acknowledged.filter((id) => !stored.has(id)), []);
    } finally {
      store.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "redis store - a frozen redis-server fails calls within the command timeout, and they succeed once it thaws",
  fn: async () => {
    const redis = await startRedisServer();
    const store = await openRedisStore(redis.url, {
      ...QUIET,
      prefix: "frozen:",
      commandTimeoutMs: 300,
    });
    try {
      assert.equal(await store.release("none"), false);
      redis.signal("SIGSTOP");
      try {
        await assert.rejects(
          store.reserve({
            reservationId: "r",
            holds: [],
            leaseUntil: Date.now() + 60_000,
            meta: {},
          }),
          (error: unknown) =>
            error instanceof StoreUnavailableError &&
            /timed out/i.test(error.message),
        );
      } finally {
        redis.signal("SIGCONT");
      }
      // The timed-out write may have happened after all: it is idempotent by id.
      assert.ok(
        await eventually(async () => {
          try {
            const result = await store.reserve({
              reservationId: "r",
              holds: [],
              leaseUntil: Date.now() + 60_000,
              meta: {},
            });
            return result.ok;
          } catch {
            return false;
          }
        }),
      );
      assert.notEqual(await store.getReservation("r"), null);
    } finally {
      store.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "redis store - scripts flushed from the server's cache are sent again, and prefixes keep two stores apart",
  fn: async () => {
    const redis = await startRedisServer();
    const a = await openRedisStore(redis.url, { ...QUIET, prefix: "a:" });
    const b = await openRedisStore(redis.url, { ...QUIET, prefix: "b:" });
    const admin = new Redis(redis.url);
    try {
      const hold = {
        counter: "c",
        bucket: 1,
        span: 1,
        limitId: "c",
        limit: 1,
        amount: 1,
      };
      const reserve = (store: QuotaStore, id: string) =>
        store.reserve({
          reservationId: id,
          holds: [hold],
          leaseUntil: 1000,
          meta: {},
        });
      assert.equal((await reserve(a, "a1")).ok, true);
      assert.equal(await admin.script("FLUSH"), "OK");
      // Same counter name, other prefix: b has its own room.
      assert.equal((await reserve(b, "b1")).ok, true);
      assert.equal((await reserve(a, "a2")).ok, false);
      assert.equal(await a.getReservation("b1"), null);
      assert.equal(await b.sweepExpired(2000), 1);
      assert.equal(await a.getReservation("a1") !== null, true);
      assert.ok((await admin.keys("a:*")).length > 0);
      assert.deepEqual(
        (await admin.keys("*")).filter((k) =>
          !k.startsWith("a:") && !k.startsWith("b:")
        ),
        [],
      );
    } finally {
      a.close();
      b.close();
      admin.disconnect();
      await redis.stop();
    }
  },
});

Deno.test("redis store - a store opened while Redis is down fails calls as unavailable, then works once Redis starts", async () => {
  const redis = await startRedisServer();
  await redis.pause();
  const store = await openRedisStore(redis.url, {
    ...QUIET,
    prefix: "late:",
    waitForConnection: false,
  });
  try {
    await assert.rejects(store.changeSeq(), StoreUnavailableError);
    await redis.start();
    assert.ok(
      await eventually(() =>
        store.putLimit({
          id: "x",
          scope: "gateway",
          metric: "requests",
          window: "1m",
          limit: 5,
          source: "api",
        }).then(() => true, () => false)
      ),
    );
    assert.deepEqual((await store.listLimits()).map((l) => l.id), ["x"]);
  } finally {
    store.close();
    await redis.stop();
  }
});
