import assert from "node:assert/strict";
import type {
  ServerMessage,
  SnapshotMessage,
  UpdateMessage,
} from "../../lib/live/messages.ts";
import { LiveHub } from "../../lib/live/hub.ts";
import { handleLiveSocket } from "../../lib/live/socket_route.ts";
import {
  connectClient,
  delay,
  makeStatus,
  rawHandshake,
  startLiveServer,
  usedOf,
  waitFor,
} from "./helpers.ts";

const isSnapshot = (m: ServerMessage): m is SnapshotMessage =>
  m.type === "snapshot";
const isUpdate = (m: ServerMessage): m is UpdateMessage => m.type === "update";
const isData = (m: ServerMessage) => m.type !== "ping";

Deno.test("hub - the first message on a new socket is a full snapshot with seq 1", async () => {
  const server = startLiveServer({ used: 7 });
  const client = await connectClient(server.wsUrl);
  const first = await client.next(() => true, "the first message");
  assert.equal(first.type, "snapshot");
  assert.ok(isSnapshot(first));
  assert.equal(first.seq, 1);
  assert.equal(usedOf(first.status), 7);
  assert.equal(first.status.scopes.length, 1);
  assert.ok(first.heartbeatMs! > 0);
  await client.close();
  await server.stop();
});

Deno.test("hub - a change reaches every client within 250 ms of notify()", async () => {
  const server = startLiveServer({ hub: { coalesceMs: 100 } });
  const clients = await Promise.all(
    [1, 2, 3].map(() => connectClient(server.wsUrl)),
  );
  for (const client of clients) {
    await client.next(isSnapshot, "the snapshot");
  }
  server.used = 11;
  const notifiedAt = Date.now();
  server.hub.notify();
  for (const client of clients) {
    const update = await client.next(isUpdate, "the update");
    assert.ok(isUpdate(update));
    assert.equal(usedOf(update.status), 11);
  }
  // The promise to users; the hub sends the first change of a quiet spell at once.
  assert.ok(Date.now() - notifiedAt < 250, "the update came later than 250 ms");
  await Promise.all(clients.map((client) => client.close()));
  await server.stop();
});

Deno.test("hub - a burst of notify() calls is coalesced into a few updates, the last one current", async () => {
  const server = startLiveServer({ hub: { coalesceMs: 100 } });
  const client = await connectClient(server.wsUrl);
  await client.next(isSnapshot, "the snapshot");
  const snapshotsBefore = server.snapshots;
  const startedAt = Date.now();
  for (let i = 1; i <= 1000; i++) {
    server.used = i;
    server.hub.notify();
    if (i % 100 === 0) await delay(25);
  }
  const burstMs = Date.now() - startedAt;
  await client.next(
    (m) => isUpdate(m) && usedOf(m.status) === 1000,
    "an update with the final value",
  );
  await delay(250);
  const updates = client.messages.filter(isUpdate);
  // One update per 100 ms tick at most, plus the leading one.
  const bound = Math.ceil(burstMs / 100) + 2;
  assert.ok(
    updates.length <= bound,
    `${updates.length} updates for a ${burstMs} ms burst (bound ${bound})`,
  );
  assert.ok(updates.length < 20);
  assert.equal(server.snapshots - snapshotsBefore, updates.length);
  assert.equal(usedOf(updates.at(-1)!.status), 1000);
  await client.close();
  await server.stop();
});

Deno.test("hub - seq grows by one per snapshot or update on a socket, and pings carry none", async () => {
  const server = startLiveServer({ hub: { coalesceMs: 20, heartbeatMs: 30 } });
  const client = await connectClient(server.wsUrl);
  await client.next(isSnapshot, "the snapshot");
  for (let i = 1; i <= 5; i++) {
    server.used = i;
    server.hub.notify();
    await client.next(
      (m) => isUpdate(m) && usedOf(m.status) === i,
      `update ${i}`,
    );
  }
  await client.next((m) => m.type === "ping", "a ping");
  const seqs = client.messages.filter(isData).map((m) =>
    (m as UpdateMessage).seq
  );
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
  assert.ok(seqs.length >= 6);
  const ping = client.messages.find((m) => m.type === "ping")!;
  assert.equal("seq" in ping, false);
  // A second socket has its own sequence.
  const other = await connectClient(server.wsUrl);
  const first = await other.next(() => true, "the second socket's snapshot");
  assert.ok(isSnapshot(first));
  assert.equal(first.seq, 1);
  await other.close();
  await client.close();
  await server.stop();
});

Deno.test("hub - resync answers with a fresh full snapshot that continues the seq", async () => {
  const server = startLiveServer({ hub: { coalesceMs: 20 } });
  const client = await connectClient(server.wsUrl);
  await client.next(isSnapshot, "the snapshot");
  server.used = 3;
  server.hub.notify();
  const update = await client.next(isUpdate, "an update");
  client.send({ type: "resync" });
  const snapshot = await client.next(isSnapshot, "the resync snapshot");
  assert.ok(isSnapshot(snapshot) && isUpdate(update));
  assert.equal(snapshot.seq, update.seq + 1);
  assert.equal(usedOf(snapshot.status), 3);
  await client.close();
  await server.stop();
});

Deno.test("hub - heartbeats arrive and a client that answers them stays connected past the idle timeout", async () => {
  const server = startLiveServer({
    hub: { heartbeatMs: 40, idleTimeoutMs: 200 },
  });
  const client = await connectClient(server.wsUrl);
  await client.next(isSnapshot, "the snapshot");
  for (let i = 0; i < 10; i++) {
    const ping = await client.next((m) => m.type === "ping", `ping ${i + 1}`);
    assert.ok(ping.type === "ping" && ping.t > 0);
  }
  assert.equal(client.isClosed(), false);
  assert.equal(server.hub.size, 1);
  await client.close();
  await server.stop();
});

Deno.test("hub - a peer that never answers is closed with code 4000 and a reason", async () => {
  const server = startLiveServer({
    hub: { heartbeatMs: 40, idleTimeoutMs: 200 },
  });
  const silent = await connectClient(server.wsUrl, { autoPong: false });
  const event = await silent.closed;
  assert.equal(event.code, 4000);
  assert.match(event.reason, /sent nothing/);
  await waitFor(() => server.hub.size === 0, "the hub to forget the peer");
  await server.stop();
});

Deno.test("hub - after every client closes, the hub holds nothing and no timer runs", async () => {
  const server = startLiveServer({ hub: { heartbeatMs: 50, coalesceMs: 20 } });
  const clients = await Promise.all(
    Array.from({ length: 5 }, () => connectClient(server.wsUrl)),
  );
  await waitFor(() => server.hub.size === 5, "five clients");
  server.hub.notify();
  await Promise.all(clients.map((client) => client.close()));
  await waitFor(() => server.hub.size === 0, "the hub to be empty");
  assert.equal(server.hub.stats().timers, 0);
  // A socket whose TCP connection just vanishes is forgotten too.
  const raw = await rawHandshake(server.port, { Origin: server.origin });
  assert.equal(raw.status, 101);
  await waitFor(() => server.hub.size === 1, "the raw client");
  raw.conn.close();
  await waitFor(
    () => server.hub.size === 0,
    "the hub to forget the vanished peer",
  );
  server.hub.notify();
  assert.deepEqual(server.hub.stats(), {
    clients: 0,
    stalled: 0,
    bufferedBytes: 0,
    timers: 0,
  });
  await server.stopServerOnly();
});

Deno.test("hub - a client that never reads is skipped then closed, its buffer stays bounded, and others keep getting updates", async () => {
  const maxBufferedBytes = 256 * 1024;
  const server = startLiveServer({
    recent: 4000, // about 1 MB per message, to fill the kernel's buffers quickly
    hub: {
      coalesceMs: 20,
      heartbeatMs: 100,
      idleTimeoutMs: 60_000,
      maxBufferedBytes,
      stallTimeoutMs: 1_500,
    },
  });
  const stalled = await rawHandshake(server.port, { Origin: server.origin });
  assert.equal(stalled.status, 101);
  const healthy = await connectClient(server.wsUrl);
  const snapshot = await healthy.next(
    isSnapshot,
    "the healthy client's snapshot",
  );
  // Every message is about this size; measured up front because under load
  // the healthy client's latest message may well be a ping.
  let messageBytes = JSON.stringify(snapshot).length;
  let maxBuffered = 0;
  let sawStalled = false;
  for (let i = 1; i <= 60 && server.hub.size === 2; i++) {
    server.used = i;
    server.hub.notify();
    await delay(30);
    const stats = server.hub.stats();
    maxBuffered = Math.max(maxBuffered, stats.bufferedBytes);
    sawStalled ||= stats.stalled > 0;
    const last = healthy.messages.at(-1);
    if (last && last.type !== "ping") {
      messageBytes = Math.max(messageBytes, JSON.stringify(last).length);
    }
  }
  assert.ok(sawStalled, "the non-reading client was never marked stalled");
  // Per socket, never more than the threshold plus the one message that
  // crossed it (and a ping); the stats sum both sockets, and under load the
  // healthy one may hold a message too.
  assert.ok(
    maxBuffered <= 2 * (maxBufferedBytes + messageBytes + 1024),
    `buffered ${maxBuffered} bytes with a limit of ${maxBufferedBytes}`,
  );
  await waitFor(
    () => server.hub.size === 1,
    "the stalled client to be closed",
    10_000,
  );
  assert.equal(server.hub.stats().stalled, 0);
  const before = server.used;
  server.used = before + 1000;
  server.hub.notify();
  await healthy.next(
    (m) => isUpdate(m) && usedOf(m.status) === before + 1000,
    "an update after the stalled client left",
  );
  assert.equal(healthy.isClosed(), false);
  stalled.conn.close();
  await healthy.close();
  await server.stop();
});

Deno.test("hub - close() sends 1001 to every client and refuses new ones", async () => {
  const server = startLiveServer();
  const client = await connectClient(server.wsUrl);
  await client.next(isSnapshot, "the snapshot");
  server.hub.close();
  const event = await client.closed;
  assert.equal(event.code, 1001);
  assert.equal(server.hub.size, 0);
  const late = await connectClient(server.wsUrl);
  const lateEvent = await late.closed;
  assert.equal(lateEvent.code, 1001);
  assert.equal(late.messages.length, 0);
  await server.stop();
});

Deno.test("hub - options that would break the protocol are refused with a sentence", () => {
  const snapshot = () => Promise.reject(new Error("unused"));
  assert.throws(
    () => new LiveHub({ snapshot, heartbeatMs: 30_000 }),
    /heartbeatMs must be at most 25000/,
  );
  assert.throws(
    () => new LiveHub({ snapshot, coalesceMs: 0 }),
    /coalesceMs must be a positive/,
  );
});

Deno.test("hub - a failed status computation is reported and retried, and the client still gets its snapshot", async () => {
  let calls = 0;
  const errors: unknown[] = [];
  const hub = new LiveHub({
    snapshot: () => {
      calls++;
      return calls === 1
        ? Promise.reject(new Error("database is locked"))
        : Promise.resolve(makeStatus(5));
    },
    onError: (error) => errors.push(error),
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => handleLiveSocket(req, { hub, allowlist: [], authorized: true }),
  );
  const client = await connectClient(
    `ws://127.0.0.1:${server.addr.port}/api/quota/ws`,
  );
  const first = await client.next(() => true, "the snapshot after a retry");
  assert.ok(isSnapshot(first));
  assert.equal(usedOf(first.status), 5);
  assert.equal(errors.length, 1);
  await client.close();
  hub.close();
  await server.shutdown();
});
