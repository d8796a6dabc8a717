import assert from "node:assert/strict";
import { effect } from "@preact/signals";
import {
  type ConnectionState,
  LiveConnection,
} from "../../../lib/live/client/connection.ts";
import { backoffCeiling } from "../../../lib/live/client/backoff.ts";
import type { QuotaStatus } from "../../../lib/quota/types.ts";
import {
  delay,
  makeStatus,
  startLiveServer,
  usedOf,
  waitFor,
} from "../helpers.ts";

/** Records every state the connection passes through. */
function recordStates(connection: LiveConnection): ConnectionState[] {
  const states: ConnectionState[] = [];
  effect(() => {
    states.push(connection.state.value);
  });
  return states;
}

Deno.test("connection - goes live with the server's snapshot and follows its updates", async () => {
  const server = startLiveServer({ used: 4, hub: { coalesceMs: 20 } });
  const connection = new LiveConnection({ apiOrigin: server.origin });
  assert.equal(connection.socketUrl, server.wsUrl);
  assert.equal(connection.state.value, "connecting");
  connection.start();
  await waitFor(() => connection.state.value === "live", "live");
  assert.equal(usedOf(connection.status.value!), 4);
  assert.equal(connection.lastSeq.value, 1);
  assert.equal(connection.statusSource.value, "socket");
  server.used = 9;
  server.hub.notify();
  await waitFor(
    () => usedOf(connection.status.value!) === 9,
    "the update to be applied",
  );
  assert.equal(connection.lastSeq.value, 2);
  connection.stop();
  await server.stop();
});

Deno.test("connection - after the server restarts it reconnects and replaces its state with a fresh snapshot", async () => {
  const first = startLiveServer({ used: 5, hub: { coalesceMs: 20 } });
  const connection = new LiveConnection({
    apiOrigin: first.origin,
    backoff: { baseMs: 50, capMs: 200 },
    offlineAfter: 100,
  });
  const states = recordStates(connection);
  connection.start();
  await waitFor(() => connection.state.value === "live", "live");
  first.used = 6;
  first.hub.notify();
  await waitFor(() => connection.lastSeq.value === 2, "an update");
  await first.stop();
  await waitFor(
    () => connection.state.value === "reconnecting",
    "the indicator to leave live",
  );
  assert.ok(connection.attempt.value >= 1);
  assert.match(connection.lastError.value!, /code 1001|Could not open/);
  await delay(150);
  // The server comes back where it was, with numbers that moved meanwhile.
  const second = startLiveServer({ port: first.port, used: 42 });
  await waitFor(
    () => connection.state.value === "live",
    "live again",
  );
  assert.equal(usedOf(connection.status.value!), 42);
  // A new socket starts a new sequence: the snapshot replaced the old state.
  assert.equal(connection.lastSeq.value, 1);
  assert.deepEqual(
    [...new Set(states)].slice(0, 3),
    ["connecting", "live", "reconnecting"],
  );
  connection.stop();
  await second.stop();
});

Deno.test("connection - a socket that dies right after its snapshot does not reset the backoff; a healthy one does", async () => {
  let lifetimeMs = 20;
  let connections = 0;
  const scripted = startScriptedServer((socket) => {
    connections++;
    socket.send(snapshotText(1, makeStatus(connections)));
    setTimeout(() => socket.close(4500, "test server cut"), lifetimeMs);
  });
  const policy = { baseMs: 40, capMs: 5_000 };
  const retries: { attempt: number; waitMs: number }[] = [];
  const connection = new LiveConnection({
    apiOrigin: scripted.origin,
    backoff: policy,
    minUptimeMs: 400,
    offlineAfter: 100,
    random: () => 0.999,
  });
  const stopEffect = effect(() => {
    const next = connection.nextRetryAt.value;
    if (next === null) return;
    retries.push({
      attempt: connection.attempt.peek(),
      waitMs: next - Date.now(),
    });
  });
  connection.start();
  await waitFor(() => retries.length >= 4, "four short-lived sessions");
  // Every session got its snapshot, yet the attempts kept growing.
  assert.ok(connections >= 4);
  assert.deepEqual(retries.slice(0, 4).map((r) => r.attempt), [1, 2, 3, 4]);
  for (const retry of retries.slice(0, 4)) {
    const ceiling = backoffCeiling(retry.attempt, policy);
    assert.ok(retry.waitMs <= ceiling, `waited ${retry.waitMs} of ${ceiling}`);
    assert.ok(
      retry.waitMs > ceiling / 2,
      `waited ${retry.waitMs} of ${ceiling}`,
    );
  }
  // Now sessions last past the minimum uptime: the next loss starts over at 1.
  lifetimeMs = 600;
  const seen = retries.length;
  await waitFor(
    () => retries.length > seen && connection.attempt.value === 1,
    "a reset after a healthy session",
    10_000,
  );
  stopEffect();
  connection.stop();
  await scripted.stop();
});

Deno.test("connection - after repeated failures it shows offline and polls the REST status, then goes live again", async () => {
  const server = startLiveServer({ used: 3 });
  server.socketEnabled = false;
  const connection = new LiveConnection({
    apiOrigin: server.origin,
    backoff: { baseMs: 20, capMs: 100 },
    offlineAfter: 3,
    pollIntervalMs: 50,
  });
  connection.start();
  await waitFor(() => connection.state.value === "offline", "offline");
  assert.ok(connection.attempt.value >= 3);
  await waitFor(
    () => connection.statusSource.value === "rest",
    "a status from REST",
  );
  assert.equal(usedOf(connection.status.value!), 3);
  server.used = 8;
  await waitFor(
    () => usedOf(connection.status.value!) === 8,
    "a later poll to bring the new value",
  );
  assert.ok(server.statusRequests >= 2);
  // The socket keeps being tried while offline; when it works, live replaces polling.
  server.socketEnabled = true;
  server.used = 12;
  await waitFor(() => connection.state.value === "live", "live again", 10_000);
  assert.equal(connection.statusSource.value, "socket");
  assert.equal(usedOf(connection.status.value!), 12);
  const requests = server.statusRequests;
  await delay(200);
  assert.ok(
    server.statusRequests <= requests + 1,
    "polling went on while live",
  );
  connection.stop();
  await server.stop();
});

Deno.test("connection - silence longer than two heartbeats marks the values stale, then the socket is replaced", async () => {
  let connections = 0;
  const scripted = startScriptedServer((socket) => {
    connections++;
    // States a 50 ms heartbeat, then never says anything again.
    socket.send(snapshotText(1, makeStatus(connections), 50));
  });
  const connection = new LiveConnection({
    apiOrigin: scripted.origin,
    backoff: { baseMs: 20, capMs: 50 },
  });
  const states = recordStates(connection);
  let silentForWhenStale: number | null = null;
  const stopEffect = effect(() => {
    if (connection.state.value !== "stale" || silentForWhenStale !== null) {
      return;
    }
    silentForWhenStale = Date.now() - connection.lastMessageAt.peek()!;
  });
  connection.start();
  await waitFor(() => connection.state.value === "live", "live");
  await waitFor(() => connection.state.value === "stale", "stale");
  // The rule: two heartbeats (2 × 50 ms) of silence, not fewer.
  assert.ok(silentForWhenStale! >= 99, `stale after ${silentForWhenStale} ms`);
  // The values are still shown, and when they were received is known.
  assert.equal(usedOf(connection.status.value!), 1);
  assert.equal(connection.statusAt.value, connection.lastMessageAt.value);
  await waitFor(() => connections >= 2, "a new socket after the silence");
  await waitFor(
    () => connection.state.value === "live",
    "live on the new socket",
  );
  assert.ok(states.includes("reconnecting"));
  stopEffect();
  connection.stop();
  await scripted.stop();
});

Deno.test("connection - a seq gap sends resync and waits for the snapshot; stale seqs are ignored", async () => {
  const received: string[] = [];
  const scripted = startScriptedServer((socket) => {
    socket.addEventListener("message", (event) => {
      received.push(event.data as string);
      if (JSON.parse(event.data as string).type === "resync") {
        socket.send(snapshotText(4, makeStatus(40)));
      }
    });
    socket.send(snapshotText(1, makeStatus(10)));
    socket.send(updateText(2, makeStatus(20)));
    socket.send(updateText(2, makeStatus(666))); // a duplicate: ignored
    socket.send(updateText(4, makeStatus(999))); // a gap: 3 is missing
  });
  const connection = new LiveConnection({ apiOrigin: scripted.origin });
  const values: number[] = [];
  const stopEffect = effect(() => {
    const status = connection.status.value;
    if (status) values.push(usedOf(status));
  });
  connection.start();
  await waitFor(() => connection.lastSeq.value === 4, "the resync snapshot");
  assert.deepEqual(received.map((text) => JSON.parse(text).type), ["resync"]);
  assert.deepEqual(values, [10, 20, 40]);
  stopEffect();
  connection.stop();
  await scripted.stop();
});

Deno.test("connection - it answers pings with pongs, so the hub keeps it past the idle timeout", async () => {
  const server = startLiveServer({
    hub: { heartbeatMs: 30, idleTimeoutMs: 120 },
  });
  const connection = new LiveConnection({ apiOrigin: server.origin });
  connection.start();
  await waitFor(() => connection.state.value === "live", "live");
  await delay(400);
  assert.equal(connection.state.value, "live");
  assert.equal(connection.attempt.value, 0);
  assert.equal(server.hub.size, 1);
  connection.stop();
  await waitFor(() => server.hub.size === 0, "the hub to see the close");
  await server.stop();
});

function snapshotText(
  seq: number,
  status: QuotaStatus,
  heartbeatMs?: number,
): string {
  return JSON.stringify({ type: "snapshot", seq, status, heartbeatMs });
}

function updateText(seq: number, status: QuotaStatus): string {
  return JSON.stringify({ type: "update", seq, status });
}

/** A bare WebSocket server whose behaviour the test scripts, to play a misbehaving server. */
function startScriptedServer(onOpen: (socket: WebSocket) => void) {
  const sockets = new Set<WebSocket>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      sockets.add(socket);
      socket.addEventListener("open", () => onOpen(socket));
      socket.addEventListener("close", () => sockets.delete(socket));
      return response;
    },
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    async stop() {
      for (const socket of sockets) socket.close(1001);
      await server.shutdown();
    },
  };
}
