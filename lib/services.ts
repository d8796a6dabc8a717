/**
 * Builds one instance's services from its configuration: the store, the
 * engine, prices, keys, access rules, the live hub and the proxy, wired so
 * that every change the engine makes (or notices from another process)
 * reaches the dashboards.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { createAuth } from "./http/auth.ts";
import type { Auth } from "./http/auth.ts";
import { KeyRegistry } from "./key_registry.ts";
import { LiveHub } from "./live/hub.ts";
import { Metrics } from "./metrics.ts";
import { createProxy } from "./openai/proxy.ts";
import { UpstreamQuotaTracker } from "./openai/upstream_quota.ts";
import { QuotaEngine } from "./quota/engine.ts";
import { createPriceTable } from "./quota/pricing.ts";
import type { PriceTable } from "./quota/pricing.ts";
import { isStoreUnavailable } from "./store/errors.ts";
import { failOpenStore } from "./store/fail_open_store.ts";
import { openKvStore } from "./store/kv_store.ts";
import { openRedisStore } from "./store/redis_store.ts";
import type { QuotaStore } from "./store/store.ts";

/** A reservation's lease outlives the longest upstream call by at most this much. */
const MAX_LEASE_MARGIN_MS = 60_000;
const DAY_MS = 86_400_000;

/** Everything the routes use. */
export interface Services {
  config: Config;
  clock: () => number;
  store: QuotaStore;
  storeKind: "deno-kv" | "redis";
  engine: QuotaEngine;
  prices: PriceTable;
  auth: Auth;
  keys: KeyRegistry;
  hub: LiveHub;
  metrics: Metrics;
  upstream: UpstreamQuotaTracker;
  proxy: (req: Request, url: URL) => Promise<Response>;
  /** How long a reservation holds before a sweep releases it. */
  leaseMs: number;
  /** Tells live dashboards that something changed (keys, for instance). */
  notify(): void;
  /** Stops timers and sockets and closes the store. */
  close(): Promise<void>;
}

/** Options for tests and embedding. */
export interface ServiceOptions {
  clock?: () => number;
  /** A store to use instead of the one the configuration names. */
  store?: QuotaStore;
  /** Hub timings (tests use short ones). */
  hub?: { coalesceMs?: number; heartbeatMs?: number; idleTimeoutMs?: number };
  /** How often maintenance runs (sweeps, rollovers, other processes' writes). */
  maintenanceMs?: number;
}

/** The Deno KV path for a data folder (`:memory:` stays in memory). */
function kvPath(dataDir: string): string {
  if (dataDir === ":memory:") return dataDir;
  return `${dataDir.replace(/\/+$/, "")}/quota.kv`;
}

/**
 * How long a reservation holds: the upstream timeout plus as much again, at
 * most a minute more, so a hold outlives any call that can still settle it,
 * and the hold of a dead instance comes back soon after.
 */
function leaseFor(upstreamTimeoutMs: number): number {
  return upstreamTimeoutMs + Math.min(upstreamTimeoutMs, MAX_LEASE_MARGIN_MS);
}

/** Opens the store the configuration names: Redis when QUOTA_REDIS_URL is set, else Deno KV. */
async function openStore(
  config: Config,
  metrics: Metrics,
): Promise<QuotaStore> {
  if (!config.redisUrl) return await openKvStore(kvPath(config.dataDir));
  // Wait for the first connection, so that the first calls find Redis
  // ready; but start anyway when it is down: fail closed answers 503 (and
  // /healthz says why) until it returns, fail open counts locally meanwhile.
  let redis: QuotaStore;
  try {
    redis = await openRedisStore(config.redisUrl);
  } catch (error) {
    if (!isStoreUnavailable(error)) throw error;
    console.error(
      `Redis at ${
        new URL(config.redisUrl).host
      } does not answer; starting anyway and retrying in the background.`,
    );
    redis = await openRedisStore(config.redisUrl, {
      waitForConnection: false,
    });
  }
  if (!config.redisFailOpen) return redis;
  metrics.gauge(
    "quota_store_fallback_pending",
    "Usage records counted locally during a Redis outage, not yet replayed.",
    () => failOpen.pendingReplay,
  );
  const failOpen = failOpenStore(redis, () =>
    metrics.inc(
      "quota_store_fallbacks_total",
      "Store calls answered locally because Redis was unavailable (fail open).",
    ));
  return failOpen;
}

/** Creates the services of one instance. */
export async function createServices(
  config: Config,
  options: ServiceOptions = {},
): Promise<Services> {
  const clock = options.clock ?? Date.now;
  const metrics = new Metrics();
  const storeKind = config.redisUrl ? "redis" : "deno-kv";
  const store = options.store ?? await openStore(config, metrics);
  const leaseMs = leaseFor(config.upstreamTimeoutMs);
  const engine = new QuotaEngine({
    store,
    clock,
    warnAt: config.warnAt,
    timeZone: config.timeZone,
    leaseMs,
    fileLimits: config.fileLimits,
    retentionMs: config.retentionDays * DAY_MS,
  });
  const prices = createPriceTable({
    overrides: config.priceOverrides,
    fallback: config.fallbackPrice,
  });
  const hub = new LiveHub({
    snapshot: () => engine.status(),
    ...options.hub,
  });
  const unsubscribe = engine.onChange((change) => {
    metrics.inc("quota_changes_total", "Changes the engine made or noticed.", {
      kind: change.kind,
    });
    hub.notify();
  });
  const stopMaintenance = engine.startMaintenance(options.maintenanceMs);
  metrics.gauge(
    "quota_live_clients",
    "WebSocket clients connected to this instance.",
    () => hub.size,
  );
  const upstream = new UpstreamQuotaTracker(store, clock, () => hub.notify());
  const keys = new KeyRegistry(store, clock);
  const proxy = createProxy({
    upstreamBaseUrl: config.upstreamBaseUrl,
    upstreamApiKey: config.upstreamApiKey,
    passthrough: config.passthrough,
    defaultMaxOutputTokens: config.defaultMaxOutputTokens,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    engine,
    keys,
    prices,
    upstream,
    metrics,
    clock,
  });
  return {
    config,
    clock,
    store,
    storeKind,
    engine,
    prices,
    auth: createAuth(config, clock),
    keys,
    hub,
    metrics,
    upstream,
    proxy,
    leaseMs,
    notify: () => hub.notify(),
    async close() {
      stopMaintenance();
      unsubscribe();
      hub.close();
      await upstream.close();
      store.close();
    },
  };
}
