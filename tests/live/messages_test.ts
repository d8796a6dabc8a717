import assert from "node:assert/strict";
import {
  parseClientMessage,
  parseServerMessage,
} from "../../lib/live/messages.ts";
import { makeStatus } from "./helpers.ts";

Deno.test("messages - server frames of every kind are read back as sent", () => {
  const status = makeStatus(5);
  const snapshot = { type: "snapshot", seq: 1, status, heartbeatMs: 20000 };
  const update = { type: "update", seq: 2, status };
  const ping = { type: "ping", t: 1718000000000 };
  assert.deepEqual(parseServerMessage(JSON.stringify(snapshot)), snapshot);
  assert.deepEqual(parseServerMessage(JSON.stringify(update)), update);
  assert.deepEqual(parseServerMessage(JSON.stringify(ping)), ping);
});

Deno.test("messages - malformed or unknown server frames are ignored, not thrown", () => {
  const status = makeStatus(1);
  const bad = [
    "not json",
    "[]",
    "null",
    JSON.stringify({ type: "update", seq: 0, status }),
    JSON.stringify({ type: "update", seq: 1.5, status }),
    JSON.stringify({ type: "update", seq: "2", status }),
    JSON.stringify({ type: "snapshot", seq: 1, status: { scopes: "x" } }),
    JSON.stringify({ type: "ping" }),
    JSON.stringify({ type: "diff", seq: 3 }),
  ];
  for (const text of bad) {
    assert.equal(parseServerMessage(text), null, text);
  }
  assert.equal(parseServerMessage(new ArrayBuffer(4)), null);
});

Deno.test("messages - the client sends only pong and resync; anything else is ignored", () => {
  assert.deepEqual(parseClientMessage('{"type":"pong"}'), { type: "pong" });
  assert.deepEqual(parseClientMessage('{"type":"resync","x":1}'), {
    type: "resync",
  });
  assert.equal(parseClientMessage('{"type":"snapshot"}'), null);
  assert.equal(parseClientMessage("pong"), null);
});
