import assert from "node:assert/strict";
import {
  createAuth,
  SESSION_COOKIE,
  SESSION_MAX_AGE_SECONDS,
} from "../../lib/http/auth.ts";

const TOKEN = "auth-test-admin-token-0123456789";

function withCookie(value: string): Request {
  return new Request("http://127.0.0.1:8000/", {
    headers: { cookie: `other=1; ${SESSION_COOKIE}=${value}` },
  });
}

Deno.test("auth - a login cookie opens the dashboard until it expires", async () => {
  let now = Date.UTC(2026, 11, 3);
  const auth = createAuth(
    { adminToken: TOKEN, publicDashboard: false },
    () => now,
  );
  const value = await auth.sessionValue();
  assert.ok(!value.includes(TOKEN), "the cookie never holds the token");
  assert.equal(await auth.isAdmin(withCookie(value)), true);
  now += SESSION_MAX_AGE_SECONDS * 1000 - 1;
  assert.equal(await auth.isAdmin(withCookie(value)), true);
  now += 2;
  assert.equal(await auth.isAdmin(withCookie(value)), false);
});

Deno.test("auth - forged, altered or foreign login cookies are refused", async () => {
  const now = Date.UTC(2026, 11, 3);
  const auth = createAuth(
    { adminToken: TOKEN, publicDashboard: false },
    () => now,
  );
  const other = createAuth(
    { adminToken: `${TOKEN}-other`, publicDashboard: false },
    () => now,
  );
  const value = await auth.sessionValue();
  const [issued, mac] = value.split(".");
  const later = `${Number(issued) + 1000}.${mac}`;
  for (
    const forged of [
      later,
      `${issued}.${"0".repeat(64)}`,
      await other.sessionValue(),
      "",
      "garbage",
    ]
  ) {
    assert.equal(await auth.isAdmin(withCookie(forged)), false, forged);
  }
});

Deno.test("auth - the admin token must match exactly, and the public dashboard stays read-only", async () => {
  const auth = createAuth({ adminToken: TOKEN, publicDashboard: true });
  const bearer = (token: string) =>
    new Request("http://127.0.0.1/", {
      headers: { authorization: `Bearer ${token}` },
    });
  assert.equal(await auth.isAdmin(bearer(TOKEN)), true);
  assert.equal(await auth.isAdmin(bearer(`${TOKEN}x`)), false);
  assert.equal(await auth.isAdmin(bearer(TOKEN.slice(0, -1))), false);
  const anonymous = new Request("http://127.0.0.1/");
  assert.equal(await auth.canViewDashboard(anonymous), true);
  assert.equal(await auth.isAdmin(anonymous), false);
  assert.equal(auth.loginRequired, false);
});

Deno.test("auth - without a token, only requests addressed to loopback are admin", async () => {
  const auth = createAuth({ adminToken: null, publicDashboard: false });
  const to = (host: string) =>
    new Request("http://127.0.0.1:8000/", { headers: { host } });
  assert.equal(await auth.isAdmin(to("127.0.0.1:8000")), true);
  assert.equal(await auth.isAdmin(to("localhost:8000")), true);
  assert.equal(await auth.isAdmin(to("[::1]:8000")), true);
  assert.equal(await auth.isAdmin(to("rebind.example:8000")), false);
  assert.equal(await auth.isAdmin(to("127.0.0.1.rebind.example")), false);
});
