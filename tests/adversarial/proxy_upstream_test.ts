/**
 * Adversarial providers behind the proxy: a 200 with HTML or broken JSON, a
 * connection closed before (or in the middle of) the response head, a stream
 * that never sends [DONE], a stream cut or stalled half way, garbage SSE.
 * Afterwards nothing may stay held (reserved 0 everywhere), a call may be
 * counted at most once, and the server must still answer.
 */

import assert from "node:assert/strict";
import { addLimit, createKey, startTestApp } from "../support/app.ts";
import type { TestApp } from "../support/app.ts";
import { startFakeUpstream } from "../support/fake_upstream.ts";

const PROVIDER_KEY = "sk-provider-test-0123456789abcdef";
const HI = [{ role: "user", content: "hi" }];

// ---------------------------------------------------------------- helpers

type Mode =
  | "html"
  | "broken_json"
  | "json_string"
  | "sse_garbage"
  | "empty";

/** A provider that answers 200 with whatever the test asks for. */
function startOddUpstream(): {
  url: string;
  setMode(mode: Mode): void;
  hits(): number;
  close(): Promise<void>;
} {
  let mode: Mode = "html";
  let hits = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      hits++;
      await req.body?.cancel();
      switch (mode) {
        case "html":
          return new Response(
            "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
            { headers: { "content-type": "text/html" } },
          );
        case "broken_json":
          return new Response('{"id": "chatcmpl-1", "choices": [', {
            headers: { "content-type": "application/json" },
          });
        case "json_string":
          return new Response('"ok"', {
            headers: { "content-type": "application/json" },
          });
        case "sse_garbage":
          return new Response(
            "data: {not json}\n\ndata: \u0000\u0001\n\n: comment\n\ndata: [DONE]\n\n",
            { headers: { "content-type": "text/event-stream" } },
          );
        case "empty":
          return new Response(null, {
            headers: { "content-type": "application/json" },
          });
      }
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1`,
    setMode: (m) => {
      mode = m;
    },
    hits: () => hits,
    close: () => server.shutdown(),
  };
}

/** A provider that reads the request and closes, optionally after half a head. */
function startRudeUpstream(halfHead: boolean): {
  url: string;
  hits(): number;
  close(): Promise<void>;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let hits = 0;
  const open = new Set<Deno.Conn>();
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        hits++;
        open.add(conn);
        (async () => {
          try {
            await conn.read(new Uint8Array(65536));
            if (halfHead) {
              await conn.write(
                new TextEncoder().encode(
                  "HTTP/1.1 200 OK\r\ncontent-type: applic",
                ),
              );
            }
          } catch {
            // The gateway may go first.
          } finally {
            open.delete(conn);
            try {
              conn.close();
            } catch {
              // Closed.
            }
          }
        })();
      }
    } catch {
      // Listener closed.
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/v1`,
    hits: () => hits,
    async close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Closed.
        }
      }
      await accepting;
    },
  };
}

async function startApp(
  upstreamUrl: string,
  settings: Record<string, string> = {},
): Promise<{ app: TestApp; secret: string }> {
  const app = await startTestApp({
    UPSTREAM_BASE_URL: upstreamUrl,
    UPSTREAM_API_KEY: PROVIDER_KEY,
    ...settings,
  });
  const secret = await createKey(app, "team-a");
  for (
    const limit of [
      { scope: "gateway", metric: "requests", window: "1h", limit: 10_000 },
      { scope: "gateway", metric: "tokens", window: "1h", limit: 100_000_000 },
      { scope: "key:team-a", metric: "cost_usd", window: "day", limit: 100 },
    ]
  ) await addLimit(app, limit);
  return { app, secret };
}

interface Counted {
  requests: number;
  reserved: number[];
  records: number;
}

async function counted(app: TestApp): Promise<Counted> {
  const status = await (await app.admin("/api/quota/status")).json();
  const limits = status.scopes.flatMap((
    s: { limits: { id: string; used: number; reserved: number }[] },
  ) => s.limits);
  return {
    requests:
      limits.find((l: { id: string }) => l.id === "gateway|requests|1h").used,
    reserved: limits.map((l: { reserved: number }) => l.reserved),
    records: (await app.services.store.listRecent(500)).length,
  };
}

/** Waits until nothing is held any more (settlement may trail the body). */
async function settled(app: TestApp, ms = 3000): Promise<Counted> {
  const end = Date.now() + ms;
  let now = await counted(app);
  while (now.reserved.some((r) => r !== 0) && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    now = await counted(app);
  }
  return now;
}

async function assertHealthy(app: TestApp): Promise<void> {
  const response = await fetch(`${app.url}/healthz`);
  assert.equal(response.status, 200);
  await response.body?.cancel();
}

function chat(
  app: TestApp,
  secret: string,
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${app.url}/v1/chat/completions`, {
    method: "POST",
    signal,
    headers: {
      authorization: `Bearer ${secret}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      model: "gpt-4.1-mini",
      messages: HI,
      max_tokens: 50,
      ...body,
    }),
  });
}

async function assertGatewayError(
  response: Response,
  what: string,
): Promise<void> {
  const text = await response.text();
  assert.equal(
    response.status,
    502,
    `${what}: expected a 502 in OpenAI's shape, got ${response.status} (${
      response.headers.get("content-type")
    }) ${JSON.stringify(text.slice(0, 120))}`,
  );
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  const body = JSON.parse(text);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 20);
  assert.ok("code" in body.error && "param" in body.error);
}

// ------------------------------------------------------------------ tests

Deno.test("adversarial upstream - a 200 with an HTML page is a 502 to the caller, not passed off as a completion", async () => {
  const upstream = startOddUpstream();
  const { app, secret } = await startApp(upstream.url);
  try {
    upstream.setMode("html");
    for (const stream of [false, true]) {
      await assertGatewayError(
        await chat(app, secret, { stream }),
        `HTML 200 (stream: ${stream})`,
      );
    }
    const now = await settled(app);
    assert.deepEqual(now.reserved.filter((r) => r !== 0), []);
    assert.ok(now.records <= 2, "at most once per call");
    await assertHealthy(app);
  } finally {
    await app.close();
    await upstream.close();
  }
});

Deno.test("adversarial upstream - a 200 with broken JSON is a 502 to the caller", async () => {
  const upstream = startOddUpstream();
  const { app, secret } = await startApp(upstream.url);
  try {
    for (const mode of ["broken_json", "empty"] as const) {
      upstream.setMode(mode);
      await assertGatewayError(await chat(app, secret, {}), mode);
    }
    const now = await settled(app);
    assert.deepEqual(now.reserved.filter((r) => r !== 0), []);
    assert.ok(now.records <= 2, "at most once per call");
    await assertHealthy(app);
  } finally {
    await app.close();
    await upstream.close();
  }
});

Deno.test("adversarial upstream - odd but well-formed answers are passed on and counted exactly once", async () => {
  const upstream = startOddUpstream();
  const { app, secret } = await startApp(upstream.url);
  try {
    upstream.setMode("sse_garbage");
    const response = await chat(app, secret, { stream: true });
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.ok(text.includes("[DONE]"));
    upstream.setMode("json_string");
    const second = await chat(app, secret, {});
    assert.ok(second.status === 200 || second.status === 502);
    await second.body?.cancel();
    const now = await settled(app);
    assert.deepEqual(now.reserved.filter((r) => r !== 0), []);
    assert.equal(now.requests, now.records, "one request per record");
    assert.ok(now.records <= 2);
    await assertHealthy(app);
  } finally {
    await app.close();
    await upstream.close();
  }
});

Deno.test("adversarial upstream - a provider that closes before (or in the middle of) its response head is a 502, nothing counted", async () => {
  for (const halfHead of [false, true]) {
    const upstream = startRudeUpstream(halfHead);
    const { app, secret } = await startApp(upstream.url);
    try {
      for (const stream of [false, true]) {
        await assertGatewayError(
          await chat(app, secret, { stream }),
          `closed ${
            halfHead ? "mid-head" : "before the head"
          } (stream ${stream})`,
        );
      }
      const other = await fetch(`${app.url}/v1/models`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      await assertGatewayError(other, "pass-through path");
      assert.ok(upstream.hits() >= 3);
      const now = await settled(app);
      assert.deepEqual(now.reserved.filter((r) => r !== 0), []);
      assert.equal(now.requests, 0, "nothing reached the provider's model");
      assert.equal(now.records, 0);
      await assertHealthy(app);
    } finally {
      await app.close();
      await upstream.close();
    }
  }
});

Deno.test("adversarial upstream - a 200 stream that ends without [DONE] or usage is recorded once, estimated", async () => {
  const upstream = await startFakeUpstream({ apiKey: PROVIDER_KEY });
  const { app, secret } = await startApp(upstream.url);
  try {
    upstream.script({ kind: "cut_stream", mode: "close", afterEvents: 3 });
    const response = await chat(app, secret, { stream: true });
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.ok(!text.includes("[DONE]"));
    const now = await settled(app);
    assert.deepEqual(now.reserved.filter((r) => r !== 0), []);
    assert.equal(now.records, 1);
    assert.equal(now.requests, 1);
    const [record] = await app.services.store.listRecent(1);
    assert.equal(record.estimated, true);
    await assertHealthy(app);
  } finally {
    await app.close();
    await upstream.close();
  }
});

Deno.test("adversarial upstream - a stream cut by the provider, or stalled past the timeout, frees its hold and counts once", async () => {
  const upstream = await startFakeUpstream({ apiKey: PROVIDER_KEY });
  const { app, secret } = await startApp(upstream.url, {
    QUOTA_UPSTREAM_TIMEOUT_MS: "1000",
  });
  try {
    upstream.script(
      { kind: "cut_stream", mode: "abort", afterEvents: 2 },
      { kind: "slow_stream", chunks: 3, delayMs: 3000 },
      { kind: "hang" },
    );
    for (const what of ["cut", "stalled"]) {
      const response = await chat(app, secret, { stream: true });
      assert.equal(response.status, 200, what);
      // The body breaks off; how the client sees that is up to the runtime.
      await response.text().catch(() => "");
    }
    const hung = await chat(app, secret, {});
    assert.equal(hung.status, 504);
    const error = (await hung.json()).error;
    assert.equal(error.code, "upstream_timeout");
    const now = await settled(app);
    assert.deepEqual(now.reserved.filter((r) => r !== 0), []);
    assert.equal(now.records, 2, "the two streams, each once");
    assert.equal(now.requests, 2);
    await assertHealthy(app);
  } finally {
    await app.close();
    await upstream.close();
  }
});
