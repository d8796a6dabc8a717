/**
 * The streaming client, in its own process: sends streamed chat requests one
 * after another and measures, for each, the time to the first body byte and
 * to the last, from just before the request is sent. Prints one JSON line
 * `BENCH_JSON {...}` with every sample in milliseconds.
 *
 * Run: `deno run --allow-net bench/support/stream_client.ts <url> <count> <warmup> [header: value]...`
 *
 * @module
 */

const [url, countText, warmupText, ...headerArgs] = Deno.args;
const count = Number(countText);
const warmup = Number(warmupText);
if (!url || !Number.isInteger(count) || !Number.isInteger(warmup)) {
  throw new Error(
    "Usage: stream_client.ts <url> <count> <warmup> ['header: value' ...]",
  );
}
const headers: Record<string, string> = { "content-type": "application/json" };
for (const arg of headerArgs) {
  const colon = arg.indexOf(":");
  headers[arg.slice(0, colon).trim()] = arg.slice(colon + 1).trim();
}
// The client does not ask for usage: a proxy that needs it asks the upstream itself.
const body = JSON.stringify({
  model: "gpt-4o-mini",
  messages: [{
    role: "user",
    content: "Count to two hundred, one word at a time.",
  }],
  max_tokens: 512,
  stream: true,
});

const firstByteMs: number[] = [];
const lastByteMs: number[] = [];
let bytes = 0;
for (let i = 0; i < warmup + count; i++) {
  const started = performance.now();
  const response = await fetch(url, { method: "POST", headers, body });
  if (!response.ok || !response.body) {
    throw new Error(
      `The stream answered ${response.status}: ${await response.text()}`,
    );
  }
  const reader = response.body.getReader();
  let first = -1;
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    if (first < 0) first = performance.now();
    size += value.byteLength;
  }
  const last = performance.now();
  if (i < warmup) continue;
  firstByteMs.push(first - started);
  lastByteMs.push(last - started);
  bytes = size;
}
console.log(`BENCH_JSON ${JSON.stringify({ firstByteMs, lastByteMs, bytes })}`);
