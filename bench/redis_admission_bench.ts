/**
 * Admission latency through Redis on loopback: one reservation (a Lua script,
 * one round trip) and its release, beside the same through Deno KV `:memory:`
 * and through the whole engine. The goal for a Redis admission is a p50 of at
 * most 0.3 ms.
 *
 * Run: `deno bench -A bench/redis_admission_bench.ts`
 *
 * Starts its own redis-server (persistence off) on a free loopback port and
 * stops it when the bench ends. Bench functions are `async` on purpose:
 * `deno bench` awaits only functions declared async, not ones that merely
 * return a promise. Before the timings it prints the p50 and p99
 * of a plain sequential loop, since `deno bench` reports p75 and p99 only.
 *
 * @module
 */

import { QuotaEngine } from "../lib/quota/engine.ts";
import { openKvStore } from "../lib/store/kv_store.ts";
import { openRedisStore } from "../lib/store/redis_store.ts";
import type { CounterHold, QuotaStore } from "../lib/store/store.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";

const LIMIT = Number.MAX_SAFE_INTEGER;
const SAMPLES = 5000;
const ESTIMATE = { inputTokens: 500, outputTokens: 500, costNanos: 10_000 };

const redis = await startRedisServer();
const redisStore = await openRedisStore(redis.url, { prefix: "bench:" });
const kvStore = await openKvStore(":memory:");
globalThis.addEventListener("unload", () => {
  redisStore.close();
  kvStore.close();
  redis.killNow();
});

/** Holds like a proxied call's: gateway, key, model and key+model counters. */
function holds(): CounterHold[] {
  const bucket = Math.floor(Date.now() / 1000);
  return ["gateway", "key:team-a", "model:gpt-4o", "key:team-a/model:gpt-4o"]
    .map((scope) => ({
      counter: `${scope}|tokens|1m`,
      bucket,
      span: 60,
      limitId: scope,
      limit: LIMIT,
      amount: 1000,
    }));
}

let next = 0;
async function reserveRelease(store: QuotaStore): Promise<void> {
  const reservationId = `bench-${next++}`;
  const result = await store.reserve({
    reservationId,
    holds: holds(),
    leaseUntil: Date.now() + 60_000,
    meta: {},
  });
  if (!result.ok) throw new Error("The bench limit refused a reservation.");
  await store.release(reservationId);
}

async function reserveOnly(store: QuotaStore): Promise<void> {
  await store.reserve({
    reservationId: `bench-${next++}`,
    holds: holds(),
    leaseUntil: Date.now() + 60_000,
    meta: {},
  });
}

function engineOn(store: QuotaStore): QuotaEngine {
  return new QuotaEngine({
    store,
    fileLimits: [{
      id: "gateway-tokens",
      scope: "gateway",
      metric: "tokens",
      window: "1m",
      limit: 1e12,
      source: "file",
    }, {
      id: "team-a-requests",
      scope: "key:team-a",
      metric: "requests",
      window: "day",
      limit: 1e12,
      source: "file",
    }],
  });
}

async function admitRelease(engine: QuotaEngine): Promise<void> {
  const admission = await engine.admit({
    key: "team-a",
    model: "gpt-4o",
    estimate: ESTIMATE,
  });
  if (!admission.ok) throw new Error("The bench limit refused an admission.");
  await engine.release(admission.reservationId);
}

async function percentiles(
  label: string,
  fn: () => Promise<void>,
): Promise<void> {
  for (let i = 0; i < 500; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.floor(q * (times.length - 1))];
  console.log(
    `${label.padEnd(40)} p50 ${at(0.5).toFixed(3)} ms   p99 ${
      at(0.99).toFixed(3)
    } ms`,
  );
}

const redisEngine = engineOn(redisStore);
const kvEngine = engineOn(kvStore);

console.log(
  `Sequential loop, ${SAMPLES} samples each (redis at ${redis.url}):`,
);
await percentiles("redis: reserve (admission)", () => reserveOnly(redisStore));
await percentiles("redis: reserve + release", () => reserveRelease(redisStore));
await percentiles("deno-kv: reserve + release", () => reserveRelease(kvStore));
await percentiles(
  "redis: engine admit + release",
  () => admitRelease(redisEngine),
);

Deno.bench({
  name: "redis: reserve (admission, 4 counters)",
  group: "reserve",
  baseline: true,
  fn: async () => {
    await reserveOnly(redisStore);
  },
});
Deno.bench({
  name: "redis: reserve + release",
  group: "reserve-release",
  baseline: true,
  fn: async () => {
    await reserveRelease(redisStore);
  },
});
Deno.bench({
  name: "deno-kv :memory:: reserve + release",
  group: "reserve-release",
  fn: async () => {
    await reserveRelease(kvStore);
  },
});
Deno.bench({
  name: "redis: engine admit + release",
  group: "engine",
  baseline: true,
  fn: async () => {
    await admitRelease(redisEngine);
  },
});
Deno.bench({
  name: "deno-kv :memory:: engine admit + release",
  group: "engine",
  fn: async () => {
    await admitRelease(kvEngine);
  },
});
