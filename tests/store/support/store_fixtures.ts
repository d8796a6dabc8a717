/**
 * Shared pieces of the store tests: usage records, engine limits, and the two
 * backends the conformance suite runs against.
 *
 * @module
 */

import type { LimitDefinition, UsageRecord } from "../../../lib/quota/types.ts";
import { openKvStore } from "../../../lib/store/kv_store.ts";
import { openRedisStore } from "../../../lib/store/redis_store.ts";
import type { QuotaStore } from "../../../lib/store/store.ts";
import { startRedisServer } from "../../support/redis_server.ts";

/** A usage record with fixed token counts (100 in, 20 of them cached, 50 out, 1234 nano-dollars). */
export function usageRecord(
  id: string,
  at: number,
  key = "team-a",
  model = "gpt-4o",
): UsageRecord {
  return {
    id,
    at,
    key,
    model,
    endpoint: "report",
    status: 200,
    inputTokens: 100,
    cachedTokens: 20,
    outputTokens: 50,
    reasoningTokens: 0,
    costNanos: 1234,
    latencyMs: 3,
    estimated: false,
  };
}

/** A file limit on the whole gateway. */
export function gatewayLimit(
  limit: number,
  window = "day",
  metric: LimitDefinition["metric"] = "requests",
): LimitDefinition {
  return {
    id: `gateway-${metric}-${window}`,
    scope: "gateway",
    metric,
    window,
    limit,
    source: "file",
  };
}

/** A backend under test: opens fresh, empty stores until torn down. */
export interface BackendEnv {
  open(): Promise<QuotaStore>;
  teardown(): Promise<void>;
}

/** The backends every conformance case runs on. */
export const BACKENDS: { name: string; setup(): Promise<BackendEnv> }[] = [
  {
    name: "deno-kv",
    setup: () =>
      Promise.resolve({
        open: () => openKvStore(":memory:"),
        teardown: () => Promise.resolve(),
      }),
  },
  {
    name: "redis",
    async setup() {
      const server = await startRedisServer();
      let next = 0;
      return {
        // A fresh prefix per store: cases share the server but never each other's keys.
        open: () =>
          openRedisStore(server.url, { prefix: `conformance-${next++}:` }),
        teardown: () => server.stop(),
      };
    },
  },
];
