/**
 * Fail-open mode over a real redis-server: admitted and counted locally while
 * Redis is away, replayed into Redis once it answers again.
 */

import assert from "node:assert/strict";
import { QuotaEngine } from "../../lib/quota/engine.ts";
import { StoreUnavailableError } from "../../lib/store/errors.ts";
import { failOpenStore } from "../../lib/store/fail_open_store.ts";
import { openKvStore } from "../../lib/store/kv_store.ts";
import { openRedisStore } from "../../lib/store/redis_store.ts";
import { startRedisServer } from "../support/redis_server.ts";
import { gatewayLimit, usageRecord } from "./support/store_fixtures.ts";

const ESTIMATE = { inputTokens: 10, outputTokens: 10, costNanos: 1000 };
const DEADLINE_MS = 15_000;
const QUIET = { onConnectionChange: () => {} };

async function gatewayStatus(engine: QuotaEngine) {
  return (await engine.status()).scopes[0].limits[0];
}

Deno.test({
  name:
    "fail-open store - while Redis is down calls are admitted past the limit and counted locally, then the usage reaches Redis when it returns",
  fn: async () => {
    const redis = await startRedisServer({ appendOnly: true });
    const fallbacks: StoreUnavailableError[] = [];
    const store = failOpenStore(
      await openRedisStore(redis.url, { ...QUIET, prefix: "open:" }),
      (error) => fallbacks.push(error),
      { retryAfterMs: 50 },
    );
    const limits = [gatewayLimit(3)];
    const engine = new QuotaEngine({ store, fileLimits: limits });
    const call = async (id: string) => {
      const admitted = await engine.admit({
        key: "team-a",
        model: "gpt-4o",
        estimate: ESTIMATE,
      });
      if (!admitted.ok) return false;
      await engine.settle(admitted.reservationId, usageRecord(id, Date.now()));
      return true;
    };
    try {
      assert.equal(await call("before"), true);
      assert.equal(fallbacks.length, 0);

      await redis.pause();
      // Five calls against a limit of 3 with one used: all admitted, none crashes.
      const during = await Promise.all(
        ["d1", "d2", "d3", "d4", "d5"].map(call),
      );
      assert.deepEqual(during, [true, true, true, true, true]);
      assert.ok(fallbacks.length >= 5);
      assert.equal(store.fallbacks, fallbacks.length);
      assert.ok(fallbacks.every((e) => e instanceof StoreUnavailableError));
      assert.equal(store.pendingReplay, 5);
      // This instance's status shows what it counted locally.
      assert.equal((await gatewayStatus(engine)).used, 5);
      assert.deepEqual(
        (await store.listRecent(10)).map((r) => r.id).sort(),
        ["d1", "d2", "d3", "d4", "d5"],
      );
      // Admin writes are not faked.
      await assert.rejects(
        store.putLimit({ ...gatewayLimit(9), source: "api" }),
        StoreUnavailableError,
      );

      await redis.start();
      const deadline = Date.now() + DEADLINE_MS;
      while (store.pendingReplay > 0 && Date.now() < deadline) {
        await store.readCounters([]).catch(() => {});
        await store.replay();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(store.pendingReplay, 0);

      // Redis now holds the call from before the outage and the five made during it.
      const direct = await openRedisStore(redis.url, {
        ...QUIET,
        prefix: "open:",
      });
      try {
        const check = new QuotaEngine({ store: direct, fileLimits: limits });
        const status = await gatewayStatus(check);
        assert.deepEqual([status.used, status.reserved, status.state], [
          6,
          0,
          "exceeded",
        ]);
        // Nothing is left to replay, and nothing was counted twice.
        assert.equal(await store.replay(), 0);
        assert.equal((await gatewayStatus(check)).used, 6);
      } finally {
        direct.close();
      }
      // Back on Redis, the limit holds again.
      const seen = fallbacks.length;
      assert.equal(await call("after"), false);
      assert.equal(fallbacks.length, seen);
    } finally {
      store.close();
      await redis.stop();
    }
  },
});

Deno.test("fail-open store - with a healthy store it answers exactly as the store does and never falls back", async () => {
  let fallbacks = 0;
  const store = failOpenStore(await openKvStore(":memory:"), () => fallbacks++);
  try {
    const engine = new QuotaEngine({ store, fileLimits: [gatewayLimit(2)] });
    const results = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          engine.admit({ key: "team-a", model: "gpt-4o", estimate: ESTIMATE }),
      ),
    );
    assert.equal(results.filter((r) => r.ok).length, 2);
    assert.equal((await gatewayStatus(engine)).reserved, 2);
    assert.equal(fallbacks, 0);
    assert.equal(store.fallbacks, 0);
  } finally {
    store.close();
  }
});
