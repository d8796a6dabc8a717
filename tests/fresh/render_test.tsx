import assert from "node:assert/strict";
import { type Signal, signal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { deserialize } from "../../lib/fresh/shared/deserialize.ts";
import type { PageProps } from "../../lib/fresh/mod.ts";
import { fixtureApp, fixtureBuild, request } from "./fixture.ts";

function Widget(props: { label: string; children?: ComponentChildren }) {
  return (
    <div class="widget">
      {props.label}
      <Inner />
      {props.children}
    </div>
  );
}
function Inner() {
  return <span>inner</span>;
}
function Shared(props: { count: Signal<number> }) {
  return <b>{props.count.value}</b>;
}
function Takes(props: Record<string, unknown>) {
  return <i>{Object.keys(props).length}</i>;
}

const islands = {
  "./islands/Widget.tsx": { default: Widget, Inner },
  "./islands/Shared.tsx": { Shared },
  "./islands/Takes.tsx": { default: Takes },
};
const build = fixtureBuild({ islands: ["Widget", "Shared", "Takes"] });
const App = ({ Component }: PageProps) => (
  <html>
    <body>
      <Component />
    </body>
  </html>
);

function bootArguments(html: string): unknown[] {
  const match = /boot\(\{.*?\},(\[.*\])\);<\/script>/.exec(html);
  assert.ok(match, "the page has a boot script");
  return JSON.parse(match[1]);
}

Deno.test("render - islands are marked, their props serialized, server JSX kept in slots", async () => {
  const count = signal(2);
  const handler = fixtureApp({
    "./routes/_app.tsx": { default: App },
    "./routes/index.tsx": {
      default: () => (
        <main>
          <Widget label="a<b">
            <p id="from-server">server text</p>
            <Shared count={count} />
          </Widget>
          <Shared count={count} />
        </main>
      ),
    },
  }, { build, islands });
  const html = await (await request(handler, "/")).text();
  assert.match(
    html,
    /<main><!--frsh:island:Widget:0:--><div class="widget">a&lt;b<span>inner<\/span><!--frsh:slot:0:children--><p id="from-server">server text<\/p><!--frsh:island:Shared.Shared:1:--><b>2<\/b><!--\/frsh:island--><!--\/frsh:slot--><\/div><!--\/frsh:island--><!--frsh:island:Shared.Shared:2:--><b>2<\/b><!--\/frsh:island--><\/main>/,
  );
  // The nested Inner island, rendered by Widget's own code, is not marked.
  assert.doesNotMatch(html, /frsh:island:Widget\.Inner/);
  assert.match(
    html,
    /<script type="module">import\{boot\}from"\/_fresh\/js\/testbuild\/fresh-runtime\.js";import \* as \$0 from "\/_fresh\/js\/testbuild\/Widget\.js";import \* as \$1 from "\/_fresh\/js\/testbuild\/Shared\.js";boot\(\{"Widget":\$0\["default"\],"Shared\.Shared":\$1\["Shared"\]\},/,
  );
  const slots: unknown[] = [];
  const props = deserialize(bootArguments(html), {
    Signal: (value) => signal(value),
    Computed: (value) => value,
    Slot: (id, name) => (slots.push([id, name]), `slot ${id}`),
  }) as Record<string, unknown>[];
  assert.equal(props[0].label, "a<b");
  assert.equal(props[0].children, "slot 0");
  assert.deepEqual(slots, [[0, "children"]]);
  assert.equal(
    props[1].count,
    props[2].count,
    "one signal, shared by both islands",
  );
  assert.equal((props[1].count as Signal<number>).value, 2);
});

Deno.test("render - a page without islands ships no JavaScript", async () => {
  const handler = fixtureApp({
    "./routes/_app.tsx": { default: App },
    "./routes/index.tsx": { default: () => <p>static</p> },
  }, { build, islands });
  const html = await (await request(handler, "/")).text();
  assert.doesNotMatch(html, /<script/);
});

Deno.test("render - a function prop fails the render naming the island and the prop", async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const handler = fixtureApp({
      "./routes/direct.tsx": { default: () => <Takes onPick={() => 1} /> },
      "./routes/nested.tsx": {
        default: () => <Takes options={{ format: () => "x" }} />,
      },
    }, { build, islands });
    assert.equal((await request(handler, "/direct")).status, 500);
    assert.equal((await request(handler, "/nested")).status, 500);
    const messages = logged.map((args) => String(args[1]));
    assert.match(
      messages[0],
      /Island "Takes" received a function in prop "onPick"/,
    );
    assert.match(
      messages[1],
      /Island "Takes" received a function in prop "options" \(at options\.format\)/,
    );
  } finally {
    console.error = original;
  }
});

Deno.test("render - the boot script carries the CSP nonce from ctx.state", async () => {
  const handler = fixtureApp({
    "./routes/_middleware.ts": {
      handler: (
        ctx: { state: Record<string, unknown>; next(): Promise<Response> },
      ) => {
        ctx.state.cspNonce = "abc123";
        return ctx.next();
      },
    },
    "./routes/index.tsx": { default: () => <Takes n={1} /> },
  }, { build, islands });
  const html = await (await request(handler, "/")).text();
  assert.match(html, /<script type="module" nonce="abc123">/);
});
