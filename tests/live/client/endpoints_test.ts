import assert from "node:assert/strict";
import {
  liveSocketUrl,
  statusUrl,
} from "../../../lib/live/client/endpoints.ts";

Deno.test("endpoints - the socket URL follows the page: wss under https, ws under http", () => {
  assert.equal(
    liveSocketUrl({ protocol: "https:", host: "quota.example.com" }),
    "wss://quota.example.com/api/quota/ws",
  );
  assert.equal(
    liveSocketUrl({ protocol: "http:", host: "127.0.0.1:8000" }),
    "ws://127.0.0.1:8000/api/quota/ws",
  );
});

Deno.test("endpoints - a configured API origin wins for a front end hosted elsewhere", () => {
  assert.equal(
    liveSocketUrl("https://api.example.com:8443"),
    "wss://api.example.com:8443/api/quota/ws",
  );
  assert.equal(
    statusUrl("https://api.example.com:8443"),
    "https://api.example.com:8443/api/quota/status",
  );
});
