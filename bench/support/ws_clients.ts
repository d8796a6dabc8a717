/**
 * Live fan-out clients, in their own process: opens `count` WebSockets to
 * the live quota socket, waits for each one's snapshot, prints `ready <n>`,
 * then waits for event ids on stdin. For each id it prints, once every
 * client has received an update that carries it, one line
 * `BENCH_EVENT {"id", "times"}` with each client's arrival time (epoch ms,
 * sub-millisecond, comparable across processes on one machine).
 *
 * Run: `deno run --allow-net bench/support/ws_clients.ts <ws-url> <count> <origin> <admin-token>`
 *
 * @module
 */

const [url, countText, origin, token] = Deno.args;
const count = Number(countText);
if (!url || !Number.isInteger(count) || count < 1 || !origin || !token) {
  throw new Error(
    "Usage: ws_clients.ts <ws-url> <count> <origin> <admin-token>",
  );
}
/** Connections opened at once, so the server's accept queue never overflows. */
const CONNECT_BATCH = 100;

const now = () => performance.timeOrigin + performance.now();
let expected: string | null = null;
let arrivals: number[] = [];
const seen = new Set<WebSocket>();

function onMessage(socket: WebSocket, data: unknown) {
  if (typeof data !== "string") return;
  if (data.startsWith('{"type":"ping"')) {
    socket.send('{"type":"pong"}');
    return;
  }
  if (expected === null || seen.has(socket) || !data.includes(expected)) return;
  seen.add(socket);
  arrivals.push(now());
  if (arrivals.length === count) {
    console.log(
      `BENCH_EVENT ${JSON.stringify({ id: expected, times: arrivals })}`,
    );
    expected = null;
  }
}

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // Deno's WebSocket takes handshake headers; the DOM typings do not know them.
    const options = { headers: { origin, authorization: `Bearer ${token}` } };
    const socket = new WebSocket(url, options as unknown as string[]);
    socket.addEventListener("message", (event) => {
      if (
        typeof event.data === "string" &&
        event.data.startsWith('{"type":"snapshot"')
      ) {
        resolve(socket);
      }
      onMessage(socket, event.data);
    });
    socket.addEventListener(
      "error",
      () => reject(new Error(`A socket to ${url} failed.`)),
    );
    socket.addEventListener("close", (event) => {
      if (!closing) {
        console.error(`socket closed early: ${event.code} ${event.reason}`);
      }
    });
  });
}

let closing = false;
const sockets: WebSocket[] = [];
for (let i = 0; i < count; i += CONNECT_BATCH) {
  const batch = Math.min(CONNECT_BATCH, count - i);
  sockets.push(...await Promise.all(Array.from({ length: batch }, open)));
}
console.log(`ready ${sockets.length}`);

const decoder = new TextDecoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  let newline;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (line === "quit") {
      closing = true;
      for (const socket of sockets) socket.close(1000);
      Deno.exit(0);
    }
    if (line.startsWith("expect ")) {
      expected = line.slice("expect ".length);
      arrivals = [];
      seen.clear();
      console.log(`expecting ${expected}`);
    }
  }
}
