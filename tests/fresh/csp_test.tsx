import assert from "node:assert/strict";
import type { Context } from "../../lib/fresh/mod.ts";
import * as rootMiddleware from "../../routes/_middleware.ts";
import { fixtureApp, fixtureBuild, request } from "./fixture.ts";

function Clock(props: { at: number }) {
  return <time>{props.at}</time>;
}

const handler = fixtureApp({
  "./routes/_middleware.ts": rootMiddleware,
  "./routes/index.tsx": { default: () => <Clock at={1} /> },
  "./routes/plain.tsx": { default: () => <p>no islands</p> },
  "./routes/api/data.ts": { handler: () => Response.json({ ok: true }) },
  "./routes/moved.ts": {
    handler: () => Response.redirect("http://localhost/plain", 302),
  },
  "./routes/ws.ts": {
    handler: (ctx: Context) => Deno.upgradeWebSocket(ctx.req).response,
  },
}, {
  build: fixtureBuild({ islands: ["Clock"] }),
  islands: { "./islands/Clock.tsx": { default: Clock } },
});

Deno.test("csp - pages get a per-request nonce that only our boot script carries", async () => {
  const first = await request(handler, "/");
  const policy = first.headers.get("content-security-policy")!;
  const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
  assert.ok(nonce, "the policy has a nonce");
  const html = await first.text();
  assert.ok(html.includes(`<script type="module" nonce="${nonce}">`));
  const scriptSrc = policy.split("; ").find((part) =>
    part.startsWith("script-src")
  )!;
  assert.equal(scriptSrc, `script-src 'self' 'nonce-${nonce}'`);
  assert.doesNotMatch(policy, /script-src[^;]*unsafe-inline/);
  assert.match(policy, /style-src 'self'/);
  assert.match(policy, /frame-ancestors 'none'/);
  assert.match(policy, /connect-src 'self' ws:\/\/localhost wss:\/\/localhost/);

  const second = await request(handler, "/");
  await second.body?.cancel();
  const otherNonce = /'nonce-([^']+)'/.exec(
    second.headers.get("content-security-policy")!,
  )?.[1];
  assert.notEqual(otherNonce, nonce);
});

Deno.test("csp - every response gets nosniff and a referrer policy, 404s included", async () => {
  for (const path of ["/plain", "/api/data", "/nothing"]) {
    const response = await request(handler, path);
    await response.body?.cancel();
    assert.equal(
      response.headers.get("x-content-type-options"),
      "nosniff",
      path,
    );
    assert.equal(
      response.headers.get("referrer-policy"),
      "strict-origin-when-cross-origin",
      path,
    );
  }
  const page = await request(handler, "/nothing");
  await page.body?.cancel();
  assert.match(
    page.headers.get("content-security-policy")!,
    /frame-ancestors 'none'/,
  );
});

Deno.test("csp - responses with immutable headers are copied, not broken", async () => {
  const response = await request(handler, "/moved");
  assert.equal(response.status, 302);
  assert.equal(response.headers.get("location"), "http://localhost/plain");
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
});

Deno.test("csp - a WebSocket upgrade (101) passes through untouched", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => handler(req, info),
  );
  try {
    const connection = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    await connection.write(new TextEncoder().encode(
      "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    const buffer = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const read = await connection.read(buffer);
      if (read === null) break;
      head += new TextDecoder().decode(buffer.subarray(0, read));
    }
    connection.close();
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.doesNotMatch(
      head.toLowerCase(),
      /x-content-type-options|content-security-policy/,
    );
  } finally {
    await server.shutdown();
  }
});
