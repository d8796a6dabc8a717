import assert from "node:assert/strict";
import { asset } from "../../lib/fresh/mod.ts";
import { fixtureApp, fixtureBuild, request } from "./fixture.ts";

const build = fixtureBuild({
  files: { "/styles.css": "body { color: red }", "/icons/logo.svg": "<svg/>" },
  islands: ["Counter"],
});
const handler = fixtureApp({
  "./routes/[...rest].ts": { handler: () => new Response("caught by route") },
}, { build });

Deno.test("static_files - static files are served before routes, with their content type", async () => {
  const css = await request(handler, "/styles.css");
  assert.equal(css.status, 200);
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  assert.equal(await css.text(), "body { color: red }");
  const svg = await request(handler, "/icons/logo.svg");
  assert.equal(svg.headers.get("content-type"), "image/svg+xml");
  await svg.body?.cancel();
});

Deno.test("static_files - plain URLs revalidate with an ETag and answer 304", async () => {
  const first = await request(handler, "/styles.css");
  await first.body?.cancel();
  const etag = first.headers.get("etag")!;
  assert.match(etag, /^"[^"]+"$/);
  assert.equal(
    first.headers.get("cache-control"),
    "public, max-age=0, must-revalidate",
  );
  const again = await request(handler, "/styles.css", {
    headers: { "if-none-match": `"other", W/${etag}` },
  });
  assert.equal(again.status, 304);
  assert.equal(again.body, null);
  const changed = await request(handler, "/styles.css", {
    headers: { "if-none-match": '"stale"' },
  });
  assert.equal(changed.status, 200);
  await changed.body?.cancel();
});

Deno.test("static_files - build-id and content-hash URLs are immutable for a year", async () => {
  const chunk = await request(handler, "/_fresh/js/testbuild/fresh-runtime.js");
  assert.equal(chunk.status, 200);
  assert.equal(
    chunk.headers.get("cache-control"),
    "public, max-age=31536000, immutable",
  );
  assert.equal(
    chunk.headers.get("content-type"),
    "text/javascript; charset=utf-8",
  );
  await chunk.body?.cancel();

  const url = asset("/styles.css");
  assert.match(url, /^\/styles\.css\?__frsh_c=\w+$/);
  const hashed = await request(handler, url);
  assert.equal(
    hashed.headers.get("cache-control"),
    "public, max-age=31536000, immutable",
  );
  await hashed.body?.cancel();
  const wrongHash = await request(handler, "/styles.css?__frsh_c=nothash");
  assert.equal(
    wrongHash.headers.get("cache-control"),
    "public, max-age=0, must-revalidate",
  );
  await wrongHash.body?.cancel();
  assert.equal(asset("/not-a-file.png"), "/not-a-file.png");
});

Deno.test("static_files - HEAD answers headers only", async () => {
  const head = await request(handler, "/styles.css", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "19");
  assert.equal(head.body, null);
});

Deno.test("static_files - traversal attempts never reach a file", async () => {
  const plain = fixtureApp({}, { build });
  const attempts = [
    "/../styles.css/../../deno.json",
    "/%2e%2e/%2e%2e/deno.json",
    "/%2E%2E%2Fdeno.json",
    "/icons/..%2f..%2fdeno.json",
    "/%252e%252e/%252e%252e/deno.json",
    "/%252e%252e%252fstyles.css",
    "/icons%2flogo.svg",
    "/icons%5clogo.svg",
    "/..%5c..%5cdeno.json",
    "/..\\..\\deno.json",
    "/icons\\..\\..\\..\\deno.json",
    "/....//....//deno.json",
    "/%2e%2e%5c%2e%2e%5cdeno.json",
    "/%25252e%25252e/deno.json",
    "/icons/logo.svg%00.css",
  ];
  for (const path of attempts) {
    const response = await plain(new Request(`http://localhost${path}`));
    assert.equal(response.status, 404, path);
    await response.body?.cancel();
  }
  // The files themselves are fine by their real names.
  const ok = await plain(new Request("http://localhost/icons/logo.svg"));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("static_files - raw traversal requests over a real socket get 404", async () => {
  const plain = fixtureApp({}, { build });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => plain(req, info),
  );
  try {
    const paths = [
      "/../../deno.json",
      "/%2e%2e/%2e%2e/deno.json",
      "/..%2f..%2fdeno.json",
      "/%252e%252e/deno.json",
      "/..\\..\\deno.json",
      "/icons/../../../../etc/passwd",
    ];
    for (const path of paths) {
      const connection = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.addr.port,
      });
      await connection.write(
        new TextEncoder().encode(
          `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
        ),
      );
      const raw = new TextDecoder().decode(
        await new Response(connection.readable).arrayBuffer(),
      );
      assert.match(raw, /^HTTP\/1\.1 404 /, path);
    }
  } finally {
    await server.shutdown();
  }
});
