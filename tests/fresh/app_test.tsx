import assert from "node:assert/strict";
import type { ComponentChildren } from "preact";
import {
  type Context,
  HttpError,
  page,
  type PageProps,
} from "../../lib/fresh/mod.ts";
import { fixtureApp, request } from "./fixture.ts";

const Layout = (name: string) => ({ Component }: PageProps) => (
  <div data-layout={name}>
    <Component />
  </div>
);

function App({ Component }: PageProps) {
  return (
    <html>
      <body>
        <Component />
      </body>
    </html>
  );
}

Deno.test("app - a static path wins over a dynamic one, params are decoded", async () => {
  const handler = fixtureApp({
    "./routes/blog/[slug].tsx": {
      default: ({ params }: PageProps) => <p>slug={params.slug}</p>,
    },
    "./routes/blog/new.tsx": { default: () => <p>the new-post form</p> },
    "./routes/old/[...path].tsx": {
      handler: (ctx: Context) => new Response(`rest=${ctx.params.path}`),
    },
  });
  assert.match(
    await (await request(handler, "/blog/new")).text(),
    /the new-post form/,
  );
  assert.match(
    await (await request(handler, "/blog/hello%20world")).text(),
    /slug=hello world/,
  );
  assert.equal(
    await (await request(handler, "/old/a/b/c")).text(),
    "rest=a/b/c",
  );
  assert.equal(await (await request(handler, "/old")).text(), "rest=");
  assert.equal((await request(handler, "/blog/new/")).status, 200);
});

Deno.test("app - index files and (group) folders shape the URL", async () => {
  const handler = fixtureApp({
    "./routes/index.tsx": { default: () => <p>home</p> },
    "./routes/(marketing)/pricing.tsx": { default: () => <p>pricing</p> },
    "./routes/docs/index.tsx": { default: () => <p>docs index</p> },
  });
  assert.match(await (await request(handler, "/")).text(), /home/);
  assert.match(await (await request(handler, "/pricing")).text(), /pricing/);
  assert.match(await (await request(handler, "/docs")).text(), /docs index/);
  assert.equal((await request(handler, "/marketing/pricing")).status, 404);
});

Deno.test("app - handlers return page data that the default export renders", async () => {
  const handler = fixtureApp({
    "./routes/_app.tsx": { default: App },
    "./routes/greet/[name].tsx": {
      handler: {
        GET: (ctx: Context) =>
          page({ name: ctx.params.name }, {
            status: 201,
            headers: { "x-greeting": "yes" },
          }),
      },
      default: ({ data }: PageProps<{ name: string }>) => (
        <h1>Hello {data.name}</h1>
      ),
    },
  });
  const response = await request(handler, "/greet/ada");
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("x-greeting"), "yes");
  assert.equal(
    response.headers.get("content-type"),
    "text/html; charset=utf-8",
  );
  const html = await response.text();
  assert.equal(
    html,
    "<!DOCTYPE html><html><body><h1>Hello ada</h1></body></html>",
  );
});

Deno.test("app - ctx.render renders JSX or data through layouts and _app", async () => {
  const handler = fixtureApp({
    "./routes/_app.tsx": { default: App },
    "./routes/_layout.tsx": { default: Layout("root") },
    "./routes/admin/_layout.tsx": { default: Layout("admin") },
    "./routes/admin/jsx.tsx": {
      handler: (ctx: Context) => ctx.render(<em>custom</em>, { status: 202 }),
    },
    "./routes/admin/data.tsx": {
      handler: (ctx: Context) => ctx.render({ n: 7 }),
      default: ({ data }: PageProps<{ n: number }>) => <b>n={data.n}</b>,
    },
  });
  const jsx = await request(handler, "/admin/jsx");
  assert.equal(jsx.status, 202);
  assert.match(
    await jsx.text(),
    /<body><div data-layout="root"><div data-layout="admin"><em>custom<\/em><\/div><\/div><\/body>/,
  );
  assert.match(
    await (await request(handler, "/admin/data")).text(),
    /<b>n=7<\/b>/,
  );
});

Deno.test("app - config skips inherited layouts, the app wrapper, or overrides the route", async () => {
  const handler = fixtureApp({
    "./routes/_app.tsx": { default: App },
    "./routes/_layout.tsx": { default: Layout("root") },
    "./routes/a/_layout.tsx": { default: Layout("a") },
    "./routes/a/own.tsx": {
      config: { skipInheritedLayouts: true },
      default: () => <i>own</i>,
    },
    "./routes/a/bare.tsx": {
      config: { skipAppWrapper: true },
      default: () => <i>bare</i>,
    },
    "./routes/anything.tsx": {
      config: { routeOverride: "/items/:id" },
      handler: (ctx: Context) => new Response(`item ${ctx.params.id}`),
    },
  });
  assert.match(
    await (await request(handler, "/a/own")).text(),
    /<body><div data-layout="a"><i>own<\/i><\/div><\/body>/,
  );
  assert.equal(
    await (await request(handler, "/a/bare")).text(),
    '<div data-layout="root"><div data-layout="a"><i>bare</i></div></div>',
  );
  assert.equal(await (await request(handler, "/items/9")).text(), "item 9");
  assert.equal((await request(handler, "/anything")).status, 404);
});

Deno.test("app - a wrong method gets 405 with Allow; OPTIONS gets 204 with Allow", async () => {
  const handler = fixtureApp({
    "./routes/thing.ts": {
      handler: {
        GET: () => new Response("got"),
        POST: () => new Response("posted"),
      },
    },
    "./routes/page.tsx": { default: () => <p>page</p> },
  });
  const put = await request(handler, "/thing", { method: "PUT" });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get("allow"), "GET, HEAD, POST, OPTIONS");
  assert.match(await put.text(), /PUT is not allowed/);
  const options = await request(handler, "/thing", { method: "OPTIONS" });
  assert.equal(options.status, 204);
  assert.equal(options.headers.get("allow"), "GET, HEAD, POST, OPTIONS");
  assert.equal(
    (await request(handler, "/page", { method: "DELETE" })).headers.get(
      "allow",
    ),
    "GET, HEAD, OPTIONS",
  );
  assert.equal(
    await (await request(handler, "/thing", { method: "POST" })).text(),
    "posted",
  );
});

Deno.test("app - HEAD follows GET without a body", async () => {
  let calls = 0;
  const handler = fixtureApp({
    "./routes/thing.ts": {
      handler: {
        GET: () => {
          calls++;
          return new Response("body", { headers: { "x-from": "get" } });
        },
      },
    },
    "./routes/page.tsx": { default: () => <p>page</p> },
  });
  const head = await request(handler, "/thing", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("x-from"), "get");
  assert.equal(head.body, null);
  assert.equal(calls, 1);
  const pageHead = await request(handler, "/page", { method: "HEAD" });
  assert.equal(pageHead.status, 200);
  assert.equal(pageHead.body, null);
});

Deno.test("app - every _middleware from the root down runs in order, around the route", async () => {
  const log: string[] = [];
  const tracer = (name: string) => async (ctx: Context) => {
    log.push(`${name} in`);
    const response = await ctx.next();
    log.push(`${name} out`);
    return response;
  };
  const handler = fixtureApp({
    "./routes/_middleware.ts": { handler: tracer("root") },
    "./routes/(app)/_middleware.ts": {
      handler: [tracer("group 1"), tracer("group 2")],
    },
    "./routes/(app)/api/_middleware.ts": { handler: tracer("api") },
    "./routes/(app)/api/items.ts": {
      handler: (ctx: Context) => {
        log.push(`route state=${ctx.state.trace}`);
        return new Response("ok");
      },
    },
    "./routes/other/_middleware.ts": { handler: tracer("other") },
    "./routes/(app)/_layout.tsx": { default: Layout("x") },
  }, { state: () => ({ trace: "seeded" }) });
  assert.equal((await request(handler, "/api/items")).status, 200);
  assert.deepEqual(log, [
    "root in",
    "group 1 in",
    "group 2 in",
    "api in",
    "route state=seeded",
    "api out",
    "group 2 out",
    "group 1 out",
    "root out",
  ]);
});

Deno.test("app - middleware runs for paths no route matches, and may answer them", async () => {
  const seen: string[] = [];
  const handler = fixtureApp({
    "./routes/_middleware.ts": {
      handler: (ctx: Context) => {
        seen.push(`${ctx.destination} ${ctx.url.pathname}`);
        if (ctx.req.method === "OPTIONS") {
          return new Response(null, {
            status: 204,
            headers: { "x-cors": "yes" },
          });
        }
        return ctx.next();
      },
    },
    "./routes/api/_middleware.ts": {
      handler: async (ctx: Context) => {
        const response = await ctx.next();
        if (response.status !== 404) return response;
        return Response.json({ error: { message: "No such API route." } }, {
          status: 404,
        });
      },
    },
    "./routes/thing.ts": { handler: { GET: () => new Response("got") } },
  });
  const preflight = await request(handler, "/thing", { method: "OPTIONS" });
  assert.equal(preflight.headers.get("x-cors"), "yes");
  assert.equal(
    (await request(handler, "/nowhere", { method: "OPTIONS" })).status,
    204,
  );
  const apiMissing = await request(handler, "/api/nope/deeper");
  assert.equal(apiMissing.status, 404);
  assert.deepEqual(await apiMissing.json(), {
    error: { message: "No such API route." },
  });
  const pageMissing = await request(handler, "/nope");
  assert.equal(pageMissing.status, 404);
  assert.match(pageMissing.headers.get("content-type")!, /text\/html/);
  assert.deepEqual(seen, [
    "route /thing",
    "notFound /nowhere",
    "notFound /api/nope/deeper",
    "notFound /nope",
  ]);
});

Deno.test("app - unknown paths get the _404 page inside _app", async () => {
  const handler = fixtureApp({
    "./routes/_app.tsx": { default: App },
    "./routes/_404.tsx": { default: () => <h1>Lost?</h1> },
    "./routes/missing/[id].ts": {
      handler: () => {
        throw new HttpError(404, "No such thing.");
      },
    },
  });
  for (const path of ["/nothing/here", "/missing/3"]) {
    const response = await request(handler, path);
    assert.equal(response.status, 404);
    assert.match(await response.text(), /<body><h1>Lost\?<\/h1><\/body>/);
  }
});

Deno.test("app - a thrown error becomes the _500 page with status 500 and is logged", async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const handler = fixtureApp({
      "./routes/_app.tsx": { default: App },
      "./routes/_500.tsx": {
        default: ({ error }: PageProps) => (
          <h1>Failed: {error instanceof Error ? error.message : "?"}</h1>
        ),
      },
      "./routes/boom.ts": {
        handler: () => {
          throw new Error("kaboom");
        },
      },
      "./routes/teapot.ts": {
        handler: () => {
          throw new HttpError(418, "short and stout");
        },
      },
    });
    const response = await request(handler, "/boom");
    assert.equal(response.status, 500);
    assert.match(await response.text(), /<h1>Failed: kaboom<\/h1>/);
    assert.equal(logged.length, 1);
    assert.match(String(logged[0][0]), /GET \/boom/);
    const teapot = await request(handler, "/teapot");
    assert.equal(teapot.status, 418);
    assert.match(await teapot.text(), /short and stout/);
  } finally {
    console.error = original;
  }
});

Deno.test("app - a handler taking (req, ctx) is refused with a hint", () => {
  assert.throws(
    () =>
      fixtureApp({
        "./routes/old.ts": {
          handler: { GET: (_req: Request, _ctx: unknown) => new Response("") },
        },
      }),
    /takes 2 arguments.*ctx\.req/,
  );
});

Deno.test("app - redirect keeps the client on this origin", async () => {
  const handler = fixtureApp({
    "./routes/go.ts": {
      handler: (ctx: Context) => ctx.redirect("//evil.example/x", 303),
    },
  });
  const response = await request(handler, "/go");
  assert.equal(response.status, 303);
  assert.equal(response.headers.get("location"), "/evil.example/x");
});

function Passthrough({ children }: { children?: ComponentChildren }) {
  return <>{children}</>;
}

Deno.test("app - with dev on, pages carry the live-reload script and /_fresh/alive answers", async () => {
  const handler = fixtureApp({
    "./routes/index.tsx": { default: () => <Passthrough>home</Passthrough> },
  }, { dev: true });
  const html = await (await request(handler, "/")).text();
  assert.match(html, /<script>.*\/_fresh\/alive.*<\/script>/);
  assert.equal((await request(handler, "/_fresh/alive")).status, 400);
  const production = fixtureApp({
    "./routes/index.tsx": { default: () => <p>home</p> },
  });
  assert.doesNotMatch(await (await request(production, "/")).text(), /<script/);
});
