import assert from "node:assert/strict";
import type { QuotaStatus } from "../lib/quota/types.ts";
import { connectClient } from "./live/helpers.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import type { FakeUpstream } from "./support/fake_upstream.ts";
import { adminRequest, startServerProcess } from "./support/process.ts";
import type { ServerProcess } from "./support/process.ts";
import { startRedisServer } from "./support/redis_server.ts";
import type { RedisServer } from "./support/redis_server.ts";

const ADMIN = "scale-out-admin-token-0123456789";
const PROVIDER_KEY = "sk-provider-scale-out-0123456789";

interface Fleet {
  redis: RedisServer;
  upstream: FakeUpstream;
  gateways: ServerProcess[];
  secret: string;
}

/** Starts Redis, a loopback provider and `count` gateway processes sharing them. */
async function withFleet(
  count: number,
  settings: Record<string, string>,
  fn: (fleet: Fleet) => Promise<void>,
): Promise<void> {
  const redis = await startRedisServer({ appendOnly: true });
  const upstream = await startFakeUpstream({ apiKey: PROVIDER_KEY });
  const dir = await Deno.makeTempDir({ prefix: "qm-fleet-" });
  const limits = `${dir}/limits.json`;
  await Deno.writeTextFile(
    limits,
    JSON.stringify({
      limits: [{
        scope: "key:team-a",
        metric: "requests",
        window: "1h",
        limit: 100,
      }],
    }),
  );
  const gateways: ServerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) {
      gateways.push(
        await startServerProcess({
          QUOTA_DATA_DIR: `${dir}/unused-${i}`,
          QUOTA_REDIS_URL: redis.url,
          QUOTA_ADMIN_TOKEN: ADMIN,
          QUOTA_LIMITS_FILE: limits,
          QUOTA_PUBLIC_DASHBOARD: "true",
          UPSTREAM_BASE_URL: upstream.url,
          UPSTREAM_API_KEY: PROVIDER_KEY,
          ...settings,
        }),
      );
    }
    const created = await admin(gateways[0].url, "/api/keys", {
      name: "team-a",
    });
    assert.equal(created.status, 201);
    const { secret } = await created.json();
    await fn({ redis, upstream, gateways, secret });
  } finally {
    for (const gateway of gateways) await gateway.kill("SIGKILL");
    await upstream.close();
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function admin(url: string, path: string, body?: unknown) {
  return adminRequest(url, ADMIN, path, body);
}

/** One proxied chat call; resolves to its status (0 when the connection failed). */
async function call(url: string, secret: string): Promise<number> {
  try {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${secret}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 5,
      }),
    });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

async function requestsLimit(url: string) {
  const status: QuotaStatus = await (await admin(url, "/api/quota/status"))
    .json();
  const limit = status.scopes.find((s) => s.scope === "key:team-a")?.limits
    .find((l) => l.metric === "requests");
  assert.ok(limit);
  return limit;
}

async function eventually(
  what: string,
  check: () => Promise<boolean>,
  ms: number,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what} did not happen within ${ms} ms`);
}

Deno.test("services (redis) - three gateways on one Redis admit exactly 100 of 300 concurrent calls", async () => {
  await withFleet(3, {}, async ({ upstream, gateways, secret }) => {
    const outcomes = await Promise.all(
      Array.from(
        { length: 300 },
        (_, i) => call(gateways[i % 3].url, secret),
      ),
    );
    assert.equal(outcomes.filter((s) => s === 200).length, 100);
    assert.equal(outcomes.filter((s) => s === 429).length, 200);
    assert.equal(upstream.requests.length, 100);
    const limit = await requestsLimit(gateways[1].url);
    assert.equal(limit.used, 100);
    assert.equal(limit.reserved, 0);
  });
});

Deno.test("services (redis) - the reservations of a gateway killed with kill -9 come back after the lease", async () => {
  await withFleet(
    2,
    { QUOTA_UPSTREAM_TIMEOUT_MS: "2000" },
    async ({ upstream, gateways, secret }) => {
      const [survivor, victim] = gateways;
      upstream.script(
        ...Array.from({ length: 20 }, () => ({ kind: "hang" as const })),
      );
      const inFlight = Array.from(
        { length: 20 },
        () => call(victim.url, secret),
      );
      await eventually(
        "20 calls reaching the provider",
        () => Promise.resolve(upstream.requests.length === 20),
        10_000,
      );
      assert.equal((await requestsLimit(survivor.url)).reserved, 20);
      await victim.kill("SIGKILL");
      await Promise.all(inFlight);
      await eventually("the holds coming back", async () => {
        const limit = await requestsLimit(survivor.url);
        return limit.reserved === 0 && limit.remaining === 100;
      }, 15_000);
    },
  );
});

Deno.test("services (redis) - Redis stopping under traffic gives 503s, and calls succeed again when it returns", async () => {
  await withFleet(2, {}, async ({ redis, gateways, secret }) => {
    assert.equal(await call(gateways[0].url, secret), 200);
    await redis.pause();
    const during = await Promise.all(
      gateways.map((g) =>
        fetch(`${g.url}/v1/chat/completions`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${secret}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({
            model: "gpt-4.1-mini",
            messages: [{ role: "user", content: "hi" }],
            max_tokens: 5,
          }),
        })
      ),
    );
    for (const response of during) {
      assert.equal(response.status, 503);
      const body = await response.json();
      assert.equal(body.error.code, "store_unavailable");
      assert.match(body.error.message, /QUOTA_REDIS_FAIL_OPEN/);
    }
    const health = await fetch(`${gateways[1].url}/healthz`);
    assert.equal(health.status, 503);
    await health.body?.cancel();
    const dashboard = await fetch(`${gateways[1].url}/`);
    assert.equal(dashboard.status, 503);
    assert.match(await dashboard.text(), /quota store does not answer/);

    await redis.start();
    await eventually(
      "calls succeeding again",
      async () =>
        (await call(gateways[0].url, secret)) === 200 &&
        (await call(gateways[1].url, secret)) === 200,
      15_000,
    );
    const limit = await requestsLimit(gateways[0].url);
    assert.ok(limit.used >= 3, "usage before and after the outage is kept");
  });
});

Deno.test("services (redis) - fail open admits calls during an outage and says so in /metrics", async () => {
  await withFleet(
    1,
    { QUOTA_REDIS_FAIL_OPEN: "true" },
    async ({ redis, gateways, secret }) => {
      const [gateway] = gateways;
      await redis.pause();
      assert.equal(await call(gateway.url, secret), 200);
      const metrics = await (await admin(gateway.url, "/metrics")).text();
      const fallbacks = /quota_store_fallbacks_total (\d+)/.exec(metrics);
      assert.ok(fallbacks && Number(fallbacks[1]) > 0, metrics);
      await redis.start();
      await eventually("calls counted in Redis again", async () => {
        if ((await call(gateway.url, secret)) !== 200) return false;
        return (await requestsLimit(gateway.url)).used >= 2;
      }, 15_000);
    },
  );
});

Deno.test("services (redis) - a change through one gateway reaches a dashboard on another within 1 s", async () => {
  await withFleet(2, {}, async ({ gateways }) => {
    const client = await connectClient(
      `${gateways[0].url.replace("http", "ws")}/api/quota/ws`,
    );
    try {
      await client.next((m) => m.type === "snapshot", "a snapshot", 5000);
      const report = await admin(gateways[1].url, "/api/quota/usage", {
        id: "redis-live-1",
        key: "team-a",
        model: "gpt-4o-mini",
        input_tokens: 10,
        output_tokens: 5,
      });
      assert.equal(report.status, 201);
      await report.body?.cancel();
      await client.next(
        (m) =>
          m.type !== "ping" &&
          m.status.recent.some((r) => r.id === "redis-live-1"),
        "the update from the other gateway",
        1000,
      );
    } finally {
      await client.close();
    }
  });
});
