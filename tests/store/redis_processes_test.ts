/**
 * Several gateway processes sharing one real redis-server: admission stays
 * exact across processes, and the holds of a process killed with SIGKILL come
 * back once their lease ends.
 */

import assert from "node:assert/strict";
import { QuotaEngine } from "../../lib/quota/engine.ts";
import { openRedisStore } from "../../lib/store/redis_store.ts";
import { startRedisServer } from "../support/redis_server.ts";
import { gatewayLimit } from "./support/store_fixtures.ts";
import { go, lines, spawnWorker } from "./support/worker_process.ts";

const SWEEP_DEADLINE_MS = 20_000;

async function gatewayStatus(engine: QuotaEngine) {
  return (await engine.status()).scopes[0].limits[0];
}

Deno.test({
  name:
    "redis store - 300 concurrent admissions from three processes against a limit of 100 admit exactly 100",
  fn: async () => {
    const redis = await startRedisServer();
    try {
      const prefix = "three:";
      const workers = Array.from(
        { length: 3 },
        () =>
          spawnWorker("redis_admit_worker.ts", [
            redis.url,
            prefix,
            "100",
            "100",
            "60000",
          ]),
      );
      const outputs = workers.map((w) => lines(w.stdout));
      for (const out of outputs) {
        assert.equal((await out.next()).value, "ready");
      }
      await go(workers);
      const admitted: number[] = [];
      for (const out of outputs) {
        let held = 0;
        for await (const line of out) {
          if (line.startsWith("held ")) held++;
          else admitted.push(JSON.parse(line).admitted);
        }
        assert.equal(held, admitted.at(-1));
      }
      for (const w of workers) {
        const [status, stderr] = await Promise.all([
          w.status,
          new Response(w.stderr).text(),
        ]);
        assert.equal(status.code, 0, stderr);
      }
      assert.equal(
        admitted.reduce((a, b) => a + b, 0),
        100,
        `admitted ${admitted.join(" + ")}`,
      );

      const store = await openRedisStore(redis.url, { prefix });
      try {
        const engine = new QuotaEngine({
          store,
          fileLimits: [{ ...gatewayLimit(100), id: "gateway-requests" }],
        });
        const status = await gatewayStatus(engine);
        assert.deepEqual([status.used, status.reserved, status.remaining], [
          0,
          100,
          0,
        ]);
      } finally {
        store.close();
      }
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "redis store - the holds of a process killed with SIGKILL mid-burst come back after their lease",
  fn: async () => {
    const redis = await startRedisServer();
    try {
      const prefix = "killed:";
      const leaseMs = 1500;
      const worker = spawnWorker("redis_admit_worker.ts", [
        redis.url,
        prefix,
        "2000",
        "2000",
        String(leaseMs),
        "4",
      ]);
      const out = lines(worker.stdout);
      assert.equal((await out.next()).value, "ready");
      await go([worker]);
      let printed = 0;
      for await (const line of out) {
        if (line.startsWith("held ")) printed++;
        if (printed === 40) worker.kill("SIGKILL");
      }
      const [status] = await Promise.all([
        worker.status,
        new Response(worker.stderr).text(),
      ]);
      assert.equal(status.signal, "SIGKILL");

      const store = await openRedisStore(redis.url, { prefix });
      try {
        const engine = new QuotaEngine({
          store,
          fileLimits: [{ ...gatewayLimit(2000), id: "gateway-requests" }],
        });
        const held = (await gatewayStatus(engine)).reserved;
        assert.ok(
          held >= printed && held < 2000,
          `held ${held}, printed ${printed}`,
        );
        // Maintenance on the real clock, as a surviving instance runs it, until the leases end.
        let swept = 0;
        const deadline = Date.now() + SWEEP_DEADLINE_MS;
        while (swept < held && Date.now() < deadline) {
          swept += (await engine.maintain()).swept;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(swept, held);
        const after = await gatewayStatus(engine);
        assert.deepEqual([after.used, after.reserved, after.remaining], [
          0,
          0,
          2000,
        ]);
      } finally {
        store.close();
      }
    } finally {
      await redis.stop();
    }
  },
});
