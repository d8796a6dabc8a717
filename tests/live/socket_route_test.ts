import assert from "node:assert/strict";
import { connectClient, rawHandshake, startLiveServer } from "./helpers.ts";

Deno.test("socket route - a plain GET gets 400 with an OpenAI-shaped error that says what to do", async () => {
  const server = startLiveServer();
  const response = await fetch(`${server.origin}/api/quota/ws`);
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.equal(body.error.code, "websocket_upgrade_required");
  assert.equal(body.error.type, "invalid_request_error");
  assert.equal(body.error.param, null);
  assert.match(body.error.message, /WebSocket/);
  assert.match(body.error.message, /\.$/);
  assert.equal(server.hub.size, 0);
  await server.stop();
});

Deno.test("socket route - a method other than GET gets 405 with Allow", async () => {
  const server = startLiveServer();
  const response = await fetch(`${server.origin}/api/quota/ws`, {
    method: "POST",
    body: "{}",
  });
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "GET");
  assert.equal((await response.json()).error.code, "method_not_allowed");
  await server.stop();
});

Deno.test("socket route - a foreign or look-alike origin gets 403 and no socket", async () => {
  const server = startLiveServer({ allowlist: ["https://ops.example.com"] });
  for (
    const origin of [
      "https://evil.example",
      "https://ops.example.com.evil.com",
      "null",
      `http://127.0.0.1:${server.port + 1}`,
    ]
  ) {
    const raw = await rawHandshake(server.port, { Origin: origin });
    assert.equal(raw.status, 403, origin);
    assert.match(raw.head, /content-type: application\/json/i);
    raw.conn.close();
  }
  // A real WebSocket client is refused too: it never opens.
  await assert.rejects(
    connectClient(server.wsUrl, { origin: "https://evil.example" }),
  );
  assert.equal(server.hub.size, 0);
  await server.stop();
});

Deno.test("socket route - the same origin and allowlisted origins get a socket", async () => {
  const server = startLiveServer({ allowlist: ["https://ops.example.com"] });
  const same = await rawHandshake(server.port, { Origin: server.origin });
  assert.equal(same.status, 101);
  const listed = await rawHandshake(server.port, {
    Origin: "https://ops.example.com",
  });
  assert.equal(listed.status, 101);
  same.conn.close();
  listed.conn.close();
  await server.stop();
});

Deno.test("socket route - without authorization the upgrade gets 401 and no socket", async () => {
  const server = startLiveServer({ authorized: false });
  const raw = await rawHandshake(server.port, { Origin: server.origin });
  assert.equal(raw.status, 401);
  assert.match(raw.head, /www-authenticate: Bearer/i);
  raw.conn.close();
  assert.equal(server.hub.size, 0);
  await server.stop();
});

Deno.test("socket route - a request without Origin (a script) connects only when authorized", async () => {
  const open = startLiveServer({ authorized: true });
  const script = await rawHandshake(open.port, {});
  assert.equal(script.status, 101);
  script.conn.close();
  await open.stop();
  const closed = startLiveServer({ authorized: false });
  const anonymous = await rawHandshake(closed.port, {});
  assert.equal(anonymous.status, 401);
  anonymous.conn.close();
  await closed.stop();
});

Deno.test("socket route - a handshake without Sec-WebSocket-Key gets 400, not a crash", async () => {
  const server = startLiveServer();
  const response = await fetch(`${server.origin}/api/quota/ws`, {
    headers: { upgrade: "websocket", origin: server.origin },
  });
  assert.equal(response.status, 400);
  assert.equal(
    (await response.json()).error.code,
    "websocket_handshake_invalid",
  );
  await server.stop();
});
