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
import { openKvStore } from "./store/kv_store.ts";
import type { QuotaStore } from "./store/store.ts";

/** A reservation's lease outlives the longest upstream call by this much. */
const LEASE_MARGIN_MS = 60_000;
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
export function kvPath(dataDir: string): string {
  if (dataDir === ":memory:") return dataDir;
  return `${dataDir.replace(/\/+$/, "")}/quota.kv`;
}

/** Creates the services of one instance. */
export async function createServices(
  config: Config,
  options: ServiceOptions = {},
): Promise<Services> {
  const clock = options.clock ?? Date.now;
  const store = options.store ?? await openKvStore(kvPath(config.dataDir));
  const leaseMs = config.upstreamTimeoutMs + LEASE_MARGIN_MS;
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
  const metrics = new Metrics();
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
    storeKind: "deno-kv",
    engine,
    prices,
    auth: createAuth(config),
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
