import assert from "node:assert/strict";
import { isAllowedOrigin, requestOrigin } from "../../lib/live/origin.ts";

const REQUEST = new URL("http://quota.example.com:8000/api/quota/ws");
const ALLOW = ["https://ops.example.com", "http://localhost:5173"];

Deno.test("origin - the server's own origin is accepted", () => {
  assert.equal(
    isAllowedOrigin("http://quota.example.com:8000", REQUEST, []),
    true,
  );
});

Deno.test("origin - an exact allowlist entry is accepted", () => {
  assert.equal(
    isAllowedOrigin("https://ops.example.com", REQUEST, ALLOW),
    true,
  );
  assert.equal(isAllowedOrigin("http://localhost:5173", REQUEST, ALLOW), true);
});

Deno.test("origin - look-alikes of an allowed origin are refused", () => {
  const lookAlikes = [
    "https://ops.example.com.evil.com",
    "https://evil-ops.example.com",
    "https://ops.example.co",
    "http://ops.example.com", // http instead of https
    "https://ops.example.com/", // trailing slash
    "https://ops.example.com:444", // another port
    "https://ops.example.com:443", // not how a browser writes the default port
    "https://user@ops.example.com", // userinfo
    "https://ops.example.com@evil.com", // userinfo trick: the host is evil.com
    "https://ops.example.com/path",
    "https://OPS.example.com", // browsers send lower case
    " https://ops.example.com",
    "http://localhost:5174",
    "http://127.0.0.1:5173",
    "http://quota.example.com:8001", // same host, other port
    "https://quota.example.com:8000", // same host and port, other scheme
    "ws://quota.example.com:8000",
    "file://",
    "",
  ];
  for (const origin of lookAlikes) {
    assert.equal(
      isAllowedOrigin(origin, REQUEST, ALLOW),
      false,
      `${JSON.stringify(origin)} was accepted`,
    );
  }
});

Deno.test("origin - the literal null origin (sandboxed pages, file URLs) is refused", () => {
  assert.equal(isAllowedOrigin("null", REQUEST, ["null", ...ALLOW]), false);
});

Deno.test("origin - a missing Origin is refused unless the caller allows it for authorized requests", () => {
  assert.equal(isAllowedOrigin(null, REQUEST, ALLOW), false);
  assert.equal(
    isAllowedOrigin(null, REQUEST, ALLOW, { allowMissing: false }),
    false,
  );
  assert.equal(
    isAllowedOrigin(null, REQUEST, ALLOW, { allowMissing: true }),
    true,
  );
});

Deno.test("origin - allowlist entries are compared in canonical form, and never as wildcards or with paths", () => {
  assert.equal(
    isAllowedOrigin("https://ops.example.com", REQUEST, [
      "HTTPS://OPS.Example.com:443/",
    ]),
    true,
  );
  assert.equal(
    isAllowedOrigin("https://ops.example.com", REQUEST, ["*"]),
    false,
  );
  assert.equal(
    isAllowedOrigin("https://ops.example.com", REQUEST, [
      "https://ops.example.com/app",
    ]),
    false,
  );
  assert.equal(
    isAllowedOrigin("https://ops.example.com", REQUEST, [
      "https://me@ops.example.com",
    ]),
    false,
  );
});

Deno.test("origin - X-Forwarded-Proto counts only when the server is told to trust it", () => {
  const behindProxy = new URL("http://quota.example.com/api/quota/ws");
  const policy = { trustForwardedProto: true, forwardedProto: "https" };
  assert.equal(
    isAllowedOrigin("https://quota.example.com", behindProxy, []),
    false,
  );
  assert.equal(
    isAllowedOrigin("https://quota.example.com", behindProxy, [], {
      trustForwardedProto: false,
      forwardedProto: "https",
    }),
    false,
  );
  assert.equal(
    isAllowedOrigin("https://quota.example.com", behindProxy, [], policy),
    true,
  );
  // Trusted, the forwarded scheme replaces the request's: plain http is then foreign.
  assert.equal(
    isAllowedOrigin("http://quota.example.com", behindProxy, [], policy),
    false,
  );
  assert.equal(
    requestOrigin(behindProxy, {
      trustForwardedProto: true,
      forwardedProto: "https, http",
    }),
    "https://quota.example.com",
  );
  assert.equal(
    requestOrigin(behindProxy, {
      trustForwardedProto: true,
      forwardedProto: "gopher",
    }),
    "http://quota.example.com",
  );
});
