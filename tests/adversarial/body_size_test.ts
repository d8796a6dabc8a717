/**
 * Adversarial request bodies: 10 MB bodies sent with an honest, a lying or
 * no Content-Length (chunked), on the REST API and the proxy (accounted and
 * pass-through paths). A body over QUOTA_MAX_BODY_BYTES must get a 413 in
 * OpenAI's error shape without the server reading it all, nothing may be
 * forwarded or counted, and the server must stay healthy.
 */

import assert from "node:assert/strict";
import { ADMIN_TOKEN } from "../support/app.ts";
import { withProxyRig } from "../support/proxy_rig.ts";
import type { ProxyRig } from "../support/proxy_rig.ts";

const MAX_BODY = 1024 * 1024;
const TEN_MB = 10 * 1024 * 1024;
const CHUNK = 64 * 1024;

// ---------------------------------------------------------------- helpers

interface Rig extends ProxyRig {
  port: number;
}

function withRig(fn: (rig: Rig) => Promise<void>): Promise<void> {
  return withProxyRig(
    async (rig) => {
      await fn({ ...rig, port: Number(new URL(rig.app.url).port) });
      const health = await fetch(`${rig.app.url}/healthz`);
      assert.equal(health.status, 200, "the server should still answer");
      await health.body?.cancel();
    },
    { QUOTA_MAX_BODY_BYTES: String(MAX_BODY) },
    [{ scope: "gateway", metric: "requests", window: "1h", limit: 1000 }],
  );
}

interface RawResult {
  status: number;
  head: string;
  body: string;
  /** Body bytes the client managed to write before the answer came. */
  sent: number;
}

const ENCODER = new TextEncoder();

/**
 * Sends a request by hand: the head, then body pieces from `piece(i)` until
 * it returns null or the server has answered. Returns the first answer.
 */
async function rawRequest(
  port: number,
  head: string,
  piece: (i: number) => Uint8Array | null,
  options: { closeAfterBody?: boolean; waitMs?: number } = {},
): Promise<RawResult | null> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let received = "";
  let answered = false;
  let finished = false;
  let connClosed = false;
  const closeConn = () => {
    if (connClosed) return;
    connClosed = true;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  const reading = (async () => {
    const buffer = new Uint8Array(65536);
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        received += new TextDecoder().decode(buffer.subarray(0, n));
        const end = received.indexOf("\r\n\r\n");
        if (end !== -1) {
          answered = true;
          const length = /content-length: *(\d+)/i.exec(
            received.slice(0, end),
          );
          if (length && received.length >= end + 4 + Number(length[1])) break;
        }
      }
    } catch {
      // A reset after the answer, or our own close.
    }
    finished = true;
  })();
  let sent = 0;
  try {
    try {
      await conn.write(ENCODER.encode(head));
      for (let i = 0; !answered; i++) {
        const bytes = piece(i);
        if (bytes === null) break;
        await conn.write(bytes);
        sent += bytes.byteLength;
        // Let the reader see an early answer.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } catch {
      // The server closed its side: it has answered or given up.
    }
    if (options.closeAfterBody) {
      closeConn();
      await reading;
      return null;
    }
    const deadline = Date.now() + (options.waitMs ?? 5000);
    while (!finished && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    closeConn();
    await reading;
  }
  const end = received.indexOf("\r\n\r\n");
  if (end === -1) return { status: 0, head: received, body: "", sent };
  return {
    status: Number(received.split(" ")[1]),
    head: received.slice(0, end),
    body: received.slice(end + 4),
    sent,
  };
}

function requestHead(
  path: string,
  token: string,
  extra: string[],
): string {
  return [
    `POST ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    `Authorization: Bearer ${token}`,
    "Content-Type: application/json",
    ...extra,
  ].join("\r\n") + "\r\n\r\n";
}

const filler = new Uint8Array(CHUNK).fill(0x20);

/** Body pieces of a 10 MB body (spaces), sent as is. */
function plainPieces(i: number): Uint8Array | null {
  return i * CHUNK < TEN_MB ? filler : null;
}

/** The same 10 MB in chunked transfer coding. */
function chunkedPieces(i: number): Uint8Array | null {
  if (i * CHUNK > TEN_MB) return null;
  if (i * CHUNK === TEN_MB) return ENCODER.encode("0\r\n\r\n");
  const size = ENCODER.encode(CHUNK.toString(16) + "\r\n");
  const out = new Uint8Array(size.length + CHUNK + 2);
  out.set(size);
  out.set(filler, size.length);
  out.set(ENCODER.encode("\r\n"), size.length + CHUNK);
  return out;
}

function assertTooLarge(result: RawResult | null, what: string): void {
  assert.ok(result, `${what}: no answer`);
  assert.equal(
    result.status,
    413,
    `${what}: expected 413, got ${result.status} ${
      result.head.split("\r\n")[0]
    } ${result.body.slice(0, 200)}`,
  );
  assert.match(result.head, /content-type: application\/json/i, what);
  const body = JSON.parse(result.body);
  assert.equal(typeof body.error.message, "string", what);
  assert.ok(body.error.message.length > 20, what);
  assert.ok("code" in body.error && "param" in body.error, what);
  assert.equal(typeof body.error.type, "string", what);
}

async function assertNothingCounted(rig: Rig, what: string): Promise<void> {
  const status = await (await rig.app.admin("/api/quota/status")).json();
  for (const scope of status.scopes) {
    for (const limit of scope.limits) {
      assert.equal(limit.used, 0, `${what}: ${limit.id} used`);
      assert.equal(limit.reserved, 0, `${what}: ${limit.id} reserved`);
    }
  }
}

// ------------------------------------------------------------------ tests

Deno.test("adversarial body - a declared 10 MB body gets 413 at once, before it is sent", async () => {
  await withRig(async (rig) => {
    for (
      const [path, token] of [
        ["/api/keys", ADMIN_TOKEN],
        ["/api/quota/usage", ADMIN_TOKEN],
        ["/api/limits", ADMIN_TOKEN],
        ["/v1/chat/completions", rig.secret],
        ["/v1/embeddings", rig.secret],
      ]
    ) {
      const result = await rawRequest(
        rig.port,
        requestHead(path, token, [`Content-Length: ${TEN_MB}`]),
        plainPieces,
      );
      assertTooLarge(result, `${path} with Content-Length 10 MB`);
      assert.ok(
        result!.sent < 3 * MAX_BODY,
        `${path}: the server should answer before reading the body (client wrote ${
          result!.sent
        } bytes)`,
      );
    }
    assert.equal(rig.upstream.requests.length, 0, "nothing forwarded");
    await assertNothingCounted(rig, "declared 10 MB");
  });
});

Deno.test("adversarial body - a chunked 10 MB body gets 413 without being read to the end", async () => {
  await withRig(async (rig) => {
    for (
      const [path, token] of [
        ["/api/keys", ADMIN_TOKEN],
        ["/api/quota/check", ADMIN_TOKEN],
        ["/v1/chat/completions", rig.secret],
        ["/v1/responses", rig.secret],
      ]
    ) {
      const result = await rawRequest(
        rig.port,
        requestHead(path, token, ["Transfer-Encoding: chunked"]),
        chunkedPieces,
      );
      assertTooLarge(result, `${path} chunked 10 MB`);
      assert.ok(
        result!.sent < TEN_MB / 2,
        `${path}: the server read ${result!.sent} bytes of a body it refuses`,
      );
    }
    assert.equal(rig.upstream.requests.length, 0, "nothing forwarded");
    await assertNothingCounted(rig, "chunked 10 MB");
  });
});

Deno.test("adversarial body - a 10 MB body from an ordinary client gets an OpenAI-shaped 413", async () => {
  await withRig(async (rig) => {
    const big = JSON.stringify({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "x".repeat(TEN_MB) }],
    });
    const response = await fetch(`${rig.app.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${rig.secret}`,
        "content-type": "application/json",
      },
      body: big,
    });
    assert.equal(response.status, 413);
    const body = await response.json();
    assert.equal(body.error.code, "request_too_large");
    const admin = await rig.app.admin("/api/keys", {
      method: "POST",
      body: JSON.stringify({ name: "x".repeat(TEN_MB) }),
    });
    assert.equal(admin.status, 413);
    await admin.body?.cancel();
    assert.equal(rig.upstream.requests.length, 0);
    await assertNothingCounted(rig, "fetch 10 MB");
  });
});

Deno.test("adversarial body - a 10 MB body on a pass-through /v1 path is refused too, not streamed upstream", async () => {
  await withRig(async (rig) => {
    const declared = await rawRequest(
      rig.port,
      requestHead("/v1/files", rig.secret, [`Content-Length: ${TEN_MB}`]),
      plainPieces,
    );
    const forwarded = rig.upstream.requests.map((r) =>
      `${r.path}: ${r.rawBody.length} bytes`
    );
    assert.ok(declared, "no answer");
    assert.equal(
      declared.status,
      413,
      `POST /v1/files with 10 MB (limit ${MAX_BODY}) answered ${declared.status}; the upstream received ${
        JSON.stringify(forwarded)
      }`,
    );
    const chunked = await rawRequest(
      rig.port,
      requestHead("/v1/files", rig.secret, ["Transfer-Encoding: chunked"]),
      chunkedPieces,
    );
    assertTooLarge(chunked, "POST /v1/files chunked 10 MB");
    assert.equal(
      rig.upstream.requests.length,
      0,
      "an oversized body must not reach the provider",
    );
  });
});

Deno.test("adversarial body - a Content-Length smaller than the body reads only what was declared", async () => {
  await withRig(async (rig) => {
    const json = '{"name":"declared"}';
    const result = await rawRequest(
      rig.port,
      requestHead("/api/keys", ADMIN_TOKEN, [
        `Content-Length: ${json.length}`,
      ]),
      (i) =>
        i === 0
          ? ENCODER.encode(json + '{"name":"smuggled"}' + "x".repeat(5000))
          : null,
    );
    assert.ok(result);
    assert.equal(result.status, 201, result.body.slice(0, 200));
    const keys = (await (await rig.app.admin("/api/keys")).json()).keys.map((
      k: { name: string },
    ) => k.name);
    assert.deepEqual(keys.sort(), ["declared", "team-a"]);
  });
});

Deno.test("adversarial body - malformed Content-Length and conflicting framing are refused with a 400", async () => {
  await withRig(async (rig) => {
    for (
      const framing of [
        ["Content-Length: abc"],
        ["Content-Length: -5"],
        ["Content-Length: 1e3"],
        ["Content-Length: 5", "Content-Length: 6"],
        ["Content-Length: 19", "Transfer-Encoding: chunked"],
      ]
    ) {
      const result = await rawRequest(
        rig.port,
        requestHead("/api/keys", ADMIN_TOKEN, framing),
        (i) => i === 0 ? ENCODER.encode('{"name":"framing"}') : null,
        { waitMs: 2000 },
      );
      assert.ok(result);
      assert.ok(
        result.status >= 400 && result.status < 500,
        `${framing.join(" + ")}: expected a 4xx, got ${result.status}`,
      );
    }
    const keys = (await (await rig.app.admin("/api/keys")).json()).keys;
    assert.equal(keys.length, 1, "no key from a badly framed request");
  });
});

Deno.test("adversarial body - a client that promises a body and hangs up mid-way causes no server error", async () => {
  await withRig(async (rig) => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => {
      errors.push(args.map(String).join(" "));
    };
    try {
      for (
        const [path, token] of [
          ["/api/keys", ADMIN_TOKEN],
          ["/api/quota/usage", ADMIN_TOKEN],
          ["/v1/chat/completions", rig.secret],
        ]
      ) {
        await rawRequest(
          rig.port,
          requestHead(path, token, ["Content-Length: 1000"]),
          (i) => i === 0 ? ENCODER.encode('{"name":"half') : null,
          { closeAfterBody: true },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      console.error = original;
    }
    const serverErrors = errors.filter((e) =>
      e.includes("Error while serving")
    );
    assert.deepEqual(
      serverErrors.map((e) => e.slice(0, 160)),
      [],
      "a client going away mid-body is not a server error (500 + stack trace in the log)",
    );
    await assertNothingCounted(rig, "half bodies");
    assert.equal(rig.upstream.requests.length, 0);
  });
});
