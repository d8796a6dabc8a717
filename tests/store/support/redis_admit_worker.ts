/**
 * A gateway-like process for the Redis store tests: opens the store at the
 * given URL and prefix, says "ready", waits for a line on stdin, then fires
 * COUNT admissions against a gateway limit of LIMIT requests per day, WAVE at
 * a time (all at once by default). It prints "held <id>" as each admission
 * is granted and a JSON summary at the end. It never settles: its holds stay
 * until a sweep releases them after LEASE_MS.
 *
 * Runs with --allow-net --allow-env only, as a production gateway would.
 *
 * Usage: deno run --allow-net --allow-env redis_admit_worker.ts <url> <prefix> <COUNT> <LIMIT> <LEASE_MS> [WAVE]
 *
 * @module
 */

import { QuotaEngine } from "../../../lib/quota/engine.ts";
import { openRedisStore } from "../../../lib/store/redis_store.ts";

const [url, prefix, count, limit, leaseMs, wave] = Deno.args;
const store = await openRedisStore(url, { prefix });
const engine = new QuotaEngine({
  store,
  leaseMs: Number(leaseMs),
  fileLimits: [{
    id: "gateway-requests",
    scope: "gateway",
    metric: "requests",
    window: "day",
    limit: Number(limit),
    source: "file",
  }],
});
console.log("ready");
const reader = Deno.stdin.readable.getReader();
await reader.read();
reader.releaseLock();

const estimate = { inputTokens: 10, outputTokens: 10, costNanos: 1000 };
const total = Number(count);
const waveSize = Number(wave ?? count);
let admitted = 0;
for (let start = 0; start < total; start += waveSize) {
  const size = Math.min(waveSize, total - start);
  await Promise.all(
    Array.from({ length: size }, async (_, i) => {
      const result = await engine.admit({
        key: `worker-${Deno.pid}`,
        model: "gpt-4o",
        estimate,
        reservationId: `${Deno.pid}-${start + i}`,
      });
      if (!result.ok) return;
      admitted++;
      console.log(`held ${result.reservationId}`);
    }),
  );
}
console.log(JSON.stringify({ admitted }));
store.close();
