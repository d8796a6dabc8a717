/**
 * Adversarial clients of the live socket (/api/quota/ws): plain GETs, other
 * methods, bad and look-alike Origins, missing credentials, garbage, binary
 * and huge frames, peers that never answer pings, and 200 connects and
 * disconnects in a row. Refused handshakes get no socket; afterwards
 * `services.hub.size` returns to 0 and the server still answers.
 */

import assert from "node:assert/strict";
import { ADMIN_TOKEN, startTestApp } from "../support/app.ts";
import type { TestApp } from "../support/app.ts";
import {
  connectClient,
  delay,
  rawHandshake,
  waitFor,
} from "../live/helpers.ts";

async function withApp(
  fn: (app: TestApp, port: number, wsUrl: string) => Promise<void>,
  settings: Record<string, string> = { QUOTA_PUBLIC_DASHBOARD: "true" },
): Promise<void> {
  const app = await startTestApp(settings, {
    hub: { heartbeatMs: 150, idleTimeoutMs: 500 },
  });
  try {
    const port = Number(new URL(app.url).port);
    await fn(app, port, `${app.url.replace(/^http/, "ws")}/api/quota/ws`);
    await waitFor(
      () => app.services.hub.size === 0,
      "the hub to hold no socket",
      3000,
    );
    assert.equal(app.services.hub.stats().timers, 0, "no hub timer left");
    const health = await fetch(`${app.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await app.close();
  }
}

async function assertOpenAIError(
  response: Response,
  status: number,
  what: string,
): Promise<string | null> {
  const text = await response.text();
  assert.equal(response.status, status, `${what}: ${text.slice(0, 150)}`);
  assert.match(
    response.headers.get("content-type") ?? "",
    /^application\/json/,
    `${what}: expected OpenAI's JSON error shape, got ${
      response.headers.get("content-type")
    }: ${text.slice(0, 100)}`,
  );
  const body = JSON.parse(text);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 20);
  assert.ok("code" in body.error && "param" in body.error);
  return body.error.code;
}

Deno.test("adversarial ws - a plain GET is a 400 pointing to the status route", async () => {
  await withApp(async (app) => {
    const code = await assertOpenAIError(
      await fetch(`${app.url}/api/quota/ws`),
      400,
      "plain GET",
    );
    assert.equal(code, "websocket_upgrade_required");
    const upgradeOnly = await fetch(`${app.url}/api/quota/ws`, {
      headers: { upgrade: "websocket" },
    });
    assert.ok(upgradeOnly.status >= 400 && upgradeOnly.status < 500);
    await upgradeOnly.body?.cancel();
    assert.equal(app.services.hub.size, 0);
  });
});

Deno.test("adversarial ws - other methods are a 405 with Allow, in OpenAI's error shape", async () => {
  await withApp(async (app) => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await fetch(`${app.url}/api/quota/ws`, { method });
      assert.ok(response.headers.get("allow")?.includes("GET"));
      await assertOpenAIError(response, 405, `${method} /api/quota/ws`);
    }
  });
});

Deno.test("adversarial ws - bad, null and look-alike Origins get 403 and no socket", async () => {
  await withApp(async (app, port) => {
    const origins = [
      "https://evil.example",
      "null",
      "",
      `http://127.0.0.1:${port}.evil.com`,
      `http://127.0.0.1.evil.com:${port}`,
      `http://127.0.0.1:${port}/`,
      `http://127.0.0.1:${port}/path`,
      `http://127.0.0.1:${port + 1}`,
      `https://127.0.0.1:${port}`,
      `ws://127.0.0.1:${port}`,
      `http://user@127.0.0.1:${port}`,
      `HTTP://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `http://127.0.0.1:${port}, https://evil.example`,
      "*",
      `http://127.0.0.1:0${port}`,
    ];
    for (const origin of origins) {
      const handshake = await rawHandshake(port, { Origin: origin });
      try {
        assert.equal(
          handshake.status,
          403,
          `Origin ${JSON.stringify(origin)}: ${
            handshake.head.split("\r\n")[0]
          }`,
        );
        assert.ok(!/upgrade: websocket/i.test(handshake.head));
        assert.equal(app.services.hub.size, 0);
      } finally {
        handshake.conn.close();
      }
    }
  });
});

Deno.test("adversarial ws - without the dashboard's credentials the handshake is a 401, also with no Origin", async () => {
  await withApp(async (app, port) => {
    const cases: Record<string, string>[] = [
      { Origin: app.url },
      {},
      { Origin: app.url, Authorization: "Bearer wrong-token-0123456789" },
      { Origin: app.url, Cookie: "qm_session=forged" },
      { Authorization: `Bearer ${ADMIN_TOKEN}x` },
    ];
    for (const headers of cases) {
      const handshake = await rawHandshake(port, headers);
      try {
        assert.equal(
          handshake.status,
          401,
          `${JSON.stringify(headers)}: ${handshake.head.split("\r\n")[0]}`,
        );
      } finally {
        handshake.conn.close();
      }
    }
    assert.equal(app.services.hub.size, 0);
    // The admin token without an Origin (a script) is fine.
    const script = await rawHandshake(port, {
      Authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    assert.equal(script.status, 101);
    script.conn.close();
  }, {});
});

Deno.test("adversarial ws - garbage text, binary and wrong-shape frames are ignored; the socket stays usable", async () => {
  await withApp(async (_app, _port, wsUrl) => {
    const client = await connectClient(wsUrl);
    await client.next((m) => m.type === "snapshot", "the first snapshot");
    const frames: (string | Uint8Array)[] = [
      "not json {{{",
      "",
      "null",
      "[]",
      "42",
      '{"type":{"nested":true}}',
      '{"type":"resync"',
      '{"type":"__proto__"}',
      '{"type":"pong","extra":' + "[".repeat(10000) + "]".repeat(10000) + "}",
      "\u0000\uffff\ud800",
      new Uint8Array([0, 1, 2, 255]),
      new Uint8Array(0),
    ];
    for (const frame of frames) client.socket.send(frame);
    client.send({ type: "resync" });
    const snapshot = await client.next(
      (m) => m.type === "snapshot",
      "a snapshot answering resync after the garbage",
    );
    assert.equal(snapshot.type, "snapshot");
    assert.equal(client.isClosed(), false);
    await client.close();
  });
});

Deno.test("adversarial ws - a huge frame does not take the server down and leaves nothing behind", async () => {
  await withApp(async (app, _port, wsUrl) => {
    for (const size of [5 * 1024 * 1024, 20 * 1024 * 1024]) {
      const client = await connectClient(wsUrl);
      await client.next((m) => m.type === "snapshot", "snapshot");
      client.socket.send("x".repeat(size));
      // Either the server closes the socket (1009) or it ignores the frame
      // and keeps serving it; both are fine, a crash is not.
      const closed = await Promise.race([
        client.closed.then(() => true),
        delay(1500).then(() => false),
      ]);
      if (!closed) {
        client.send({ type: "resync" });
        await client.next(
          (m) => m.type === "snapshot",
          "resync after a big frame",
        );
      }
      await client.close();
      const health = await fetch(`${app.url}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    }
  });
});

Deno.test("adversarial ws - a peer that never answers pings is closed with 4000", async () => {
  await withApp(async (app, _port, wsUrl) => {
    const silent = await connectClient(wsUrl, { autoPong: false });
    const event = await Promise.race([
      silent.closed,
      delay(4000).then(() => null),
    ]);
    assert.ok(event, "the silent peer should be closed");
    assert.equal(event.code, 4000);
    assert.ok(event.reason.length > 10);
    await waitFor(() => app.services.hub.size === 0, "hub empty");
  });
});

Deno.test("adversarial ws - 200 quick connects and disconnects leave the hub empty", async () => {
  await withApp(async (app, port, wsUrl) => {
    const sockets: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const socket = new WebSocket(
        wsUrl,
        { headers: { origin: app.url } } as unknown as string[],
      );
      sockets.push(
        new Promise<void>((resolve) => {
          socket.onclose = () => resolve();
          socket.onerror = () => {};
          if (i % 3 === 0) socket.close();
          else if (i % 3 === 1) socket.onopen = () => socket.close();
          else socket.onmessage = () => socket.close(4001, "bye");
        }),
      );
    }
    await Promise.race([Promise.all(sockets), delay(15000)]);
    // Raw peers that vanish without a close frame.
    for (let i = 0; i < 20; i++) {
      const handshake = await rawHandshake(port, { Origin: app.url });
      assert.equal(handshake.status, 101);
      handshake.conn.close();
    }
    await waitFor(
      () => app.services.hub.size === 0,
      `the hub to drop every socket (has ${app.services.hub.size})`,
      5000,
    );
    // And a well-behaved client still gets its snapshot.
    const client = await connectClient(wsUrl);
    await client.next(
      (m) => m.type === "snapshot",
      "a snapshot after the churn",
    );
    await client.close();
  });
});
