/**
 * The platform's limit: a Deno proxy that only forwards a request with
 * `fetch` and returns the answer, streaming, with no checks and no
 * accounting. What Quota Monitor adds is measured against it.
 *
 * Run: `deno run --allow-net bench/support/bare_proxy.ts --port 9200 --upstream http://127.0.0.1:9100`
 * It prints `listening <port>` once it accepts connections.
 *
 * @module
 */

function option(name: string): string {
  const index = Deno.args.indexOf(`--${name}`);
  const value = index < 0 ? undefined : Deno.args[index + 1];
  if (value === undefined) throw new Error(`Pass --${name} <value>.`);
  return value;
}

const port = Number(option("port"));
const upstream = option("upstream").replace(/\/+$/, "");

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, (req) => {
  const url = new URL(req.url);
  const headers = new Headers(req.headers);
  headers.delete("host");
  return fetch(upstream + url.pathname + url.search, {
    method: req.method,
    headers,
    body: req.body,
    signal: req.signal,
  });
});
