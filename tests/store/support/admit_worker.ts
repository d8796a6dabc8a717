/**
 * A second process for store tests: opens the KV file given as first
 * argument, says "ready", waits for a line on stdin, then fires N concurrent
 * admissions against a gateway limit of LIMIT requests per day and prints
 * how many were admitted. It never settles: its holds stay until swept.
 *
 * Usage: deno run -A admit_worker.ts <kv file> <N> <LIMIT> [WAVE]
 *
 * With WAVE, the N admissions go WAVE at a time, so that processes interleave
 * over many commits and contend on the file's lock.
 *
 * @module
 */

import { QuotaEngine } from "../../../lib/quota/engine.ts";
import { openKvStore } from "../../../lib/store/kv_store.ts";

const [path, count, limit, wave] = Deno.args;
const store = await openKvStore(path);
const engine = new QuotaEngine({
  store,
  leaseMs: 60_000,
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
const results = [];
for (let start = 0; start < total; start += waveSize) {
  const size = Math.min(waveSize, total - start);
  results.push(
    ...await Promise.all(
      Array.from({ length: size }, (_, i) =>
        engine.admit({
          key: `worker-${Deno.pid}`,
          model: "gpt-4o",
          estimate,
          reservationId: `${Deno.pid}-${start + i}`,
        })),
    ),
  );
}
console.log(JSON.stringify({ admitted: results.filter((r) => r.ok).length }));
store.close();
