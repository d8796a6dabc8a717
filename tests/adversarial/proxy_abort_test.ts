/**
 * Clients that go away at every moment of a proxied call: while the body is
 * still being sent, before the response head, in the middle of a stream,
 * right after [DONE], and many at once. Afterwards nothing may stay held
 * (reserved 0 everywhere), a call is counted at most once, the provider's
 * request is cancelled, and the server still serves the next call.
 */

import assert from "node:assert/strict";
import type { TestApp } from "../support/app.ts";
import type { FakeUpstream } from "../support/fake_upstream.ts";
import { withProxyRig } from "../support/proxy_rig.ts";
import type { ProxyRig } from "../support/proxy_rig.ts";

const HI = [{ role: "user", content: "hi" }];

type Rig = ProxyRig;

const LIMITS = [
  { scope: "gateway", metric: "requests", window: "1h", limit: 10_000 },
  { scope: "gateway", metric: "tokens", window: "1h", limit: 1e9 },
  { scope: "key:team-a", metric: "cost_usd", window: "day", limit: 100 },
  {
    scope: "key:team-a/model:gpt-4.1-mini",
    metric: "output_tokens",
    window: "1m",
    limit: 1e9,
  },
];

function withRig(fn: (rig: Rig) => Promise<void>): Promise<void> {
  return withProxyRig(
    async (r) => {
      await fn(r);
      // The next call after all that still works and settles.
      const after = await chat(rig(r.app, r.upstream, r.secret), {});
      assert.equal(after.status, 200, "the next call should still work");
      await after.body?.cancel();
      const health = await fetch(`${r.app.url}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    },
    { QUOTA_UPSTREAM_TIMEOUT_MS: "10000" },
    LIMITS,
  );
}

function rig(app: TestApp, upstream: FakeUpstream, secret: string): Rig {
  return { app, upstream, secret };
}

function chat(
  rig: Rig,
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${rig.app.url}/v1/chat/completions`, {
    method: "POST",
    signal,
    headers: {
      authorization: `Bearer ${rig.secret}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      model: "gpt-4.1-mini",
      messages: HI,
      max_tokens: 100,
      ...body,
    }),
  });
}

interface Counted {
  requests: number;
  reserved: { id: string; reserved: number }[];
  records: number;
}

async function counted(app: TestApp): Promise<Counted> {
  const status = await (await app.admin("/api/quota/status")).json();
  const limits: { id: string; used: number; reserved: number }[] = status
    .scopes.flatMap((s: { limits: unknown[] }) => s.limits);
  return {
    requests: limits.find((l) => l.id === "gateway|requests|1h")!.used,
    reserved: limits.filter((l) => l.reserved !== 0).map((l) => ({
      id: l.id,
      reserved: l.reserved,
    })),
    records: (await app.services.store.listRecent(1000)).length,
  };
}

/** Waits (bounded) until every hold is gone, then returns the counts. */
async function settled(app: TestApp, ms = 4000): Promise<Counted> {
  const end = Date.now() + ms;
  let now = await counted(app);
  while (now.reserved.length > 0 && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    now = await counted(app);
  }
  assert.deepEqual(now.reserved, [], "no hold may be left behind");
  assert.equal(now.requests, now.records, "each record counted exactly once");
  return now;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("adversarial abort - a client gone before the response head: released, nothing counted, provider cancelled", async () => {
  await withRig(async (rig) => {
    rig.upstream.script({ kind: "hang" }, { kind: "hang" });
    for (const stream of [false, true]) {
      const controller = new AbortController();
      const pending = chat(rig, { stream }, controller.signal).then(
        (r) => r.status,
        (e: Error) => e.name,
      );
      const end = Date.now() + 3000;
      while (
        rig.upstream.requests.length < (stream ? 2 : 1) && Date.now() < end
      ) await delay(10);
      controller.abort();
      assert.equal(await pending, "AbortError");
    }
    const now = await settled(rig.app);
    assert.equal(now.records, 0, "a call that never answered counts nothing");
    const end = Date.now() + 2000;
    while (
      rig.upstream.requests.some((r) => !r.aborted) && Date.now() < end
    ) await delay(10);
    assert.ok(
      rig.upstream.requests.every((r) => r.aborted),
      "the provider's requests are cancelled",
    );
  });
});

Deno.test("adversarial abort - a client gone while still sending its body: nothing held or counted", async () => {
  await withRig(async (rig) => {
    const port = Number(new URL(rig.app.url).port);
    for (let i = 0; i < 5; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const body = JSON.stringify({ model: "gpt-4.1-mini", messages: HI });
      await conn.write(
        new TextEncoder().encode(
          `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${rig.secret}\r\nContent-Type: application/json\r\nContent-Length: ${
            body.length + 100
          }\r\n\r\n${body.slice(0, 10 + i * 5)}`,
        ),
      );
      await delay(20);
      conn.close();
    }
    await delay(200);
    const now = await settled(rig.app);
    assert.equal(now.records, 0);
    assert.equal(rig.upstream.requests.length, 0);
  });
});

Deno.test("adversarial abort - a client gone mid-stream: recorded once from what was delivered, provider cancelled", async () => {
  await withRig(async (rig) => {
    rig.upstream.script({ kind: "slow_stream", chunks: 40, delayMs: 25 });
    const controller = new AbortController();
    const response = await chat(rig, { stream: true }, controller.signal);
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => null);
    const now = await settled(rig.app);
    assert.equal(now.records, 1);
    const [record] = await rig.app.services.store.listRecent(1);
    assert.equal(record.estimated, true);
    const end = Date.now() + 2000;
    while (!rig.upstream.requests[0].aborted && Date.now() < end) {
      await delay(10);
    }
    assert.equal(rig.upstream.requests[0].aborted, true);
  });
});

Deno.test("adversarial abort - a client gone right after [DONE]: counted once, with the provider's usage", async () => {
  await withRig(async (rig) => {
    for (const includeUsage of [false, true]) {
      const controller = new AbortController();
      const response = await chat(rig, {
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      }, controller.signal);
      const reader = response.body!.getReader();
      let text = "";
      while (!text.includes("[DONE]")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      controller.abort();
      await reader.read().catch(() => null);
    }
    const now = await settled(rig.app);
    assert.equal(now.records, 2);
    for (const record of await rig.app.services.store.listRecent(2)) {
      assert.equal(
        record.estimated,
        false,
        "the usage arrived before [DONE]; the abort must not turn it into an estimate",
      );
    }
  });
});

Deno.test("adversarial abort - forty concurrent clients abort at different moments: no hold leaks, each counted at most once", async () => {
  await withRig(async (rig) => {
    const EARLY = 10;
    const LATE = 30;
    // First the calls that will be abandoned before any answer...
    rig.upstream.script(
      ...Array.from({ length: EARLY }, () => ({ kind: "hang" as const })),
    );
    const early = Array.from({ length: EARLY }, () => new AbortController());
    const earlyDone = Promise.all(
      early.map((controller) =>
        chat(rig, { stream: true }, controller.signal).then(
          (r) => r.body?.cancel(),
          () => undefined,
        )
      ),
    );
    const end = Date.now() + 3000;
    while (rig.upstream.requests.length < EARLY && Date.now() < end) {
      await delay(10);
    }
    // ...then streams abandoned after 0 to 5 chunks, by abort or cancel,
    // while the first ones are abandoned in between.
    rig.upstream.script(
      ...Array.from(
        { length: LATE },
        () => ({ kind: "slow_stream" as const, chunks: 30, delayMs: 15 }),
      ),
    );
    const late = Promise.all(
      Array.from({ length: LATE }, async (_, i) => {
        const controller = new AbortController();
        try {
          const response = await chat(rig, { stream: true }, controller.signal);
          const reader = response.body!.getReader();
          for (let k = 0; k < i % 6; k++) await reader.read();
          if (i % 3 === 0) await reader.cancel();
          else controller.abort();
          await reader.read().catch(() => null);
        } catch {
          // An abort may land before the head.
        }
      }),
    );
    for (const [i, controller] of early.entries()) {
      await delay(5 + i * 3);
      controller.abort();
    }
    await Promise.all([earlyDone, late]);
    const now = await settled(rig.app, 6000);
    assert.ok(
      now.records <= LATE,
      `${now.records} records for ${LATE} streams (and ${EARLY} calls that never got an answer)`,
    );
    assert.ok(
      now.records >= LATE - 2,
      `every stream that started is recorded (${now.records} of ${LATE})`,
    );
  });
});
