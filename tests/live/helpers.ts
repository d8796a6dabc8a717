/**
 * Shared test parts for the live layer: status values, a bare Deno.serve on
 * loopback with the live socket route, a message-collecting WebSocket client,
 * and a raw TCP WebSocket handshake for clients a browser could not be.
 */

import type { QuotaStatus, UsageRecord } from "../../lib/quota/types.ts";
import { LiveHub, type LiveHubOptions } from "../../lib/live/hub.ts";
import { handleLiveSocket } from "../../lib/live/socket_route.ts";
import type { ServerMessage } from "../../lib/live/messages.ts";

/** A status whose one limit has `used` requests; `recent` pads it with records. */
export function makeStatus(used: number, recent = 0): QuotaStatus {
  const records: UsageRecord[] = [];
  for (let i = 0; i < recent; i++) {
    records.push({
      id: `req-${used}-${i}`,
      at: 1_700_000_000_000 + i,
      key: "team-a",
      model: "gpt-4o-mini",
      endpoint: "chat.completions",
      status: 200,
      costNanos: 1234,
      latencyMs: 12,
      estimated: false,
      inputTokens: 100,
      cachedTokens: 0,
      outputTokens: 20,
      reasoningTokens: 0,
    });
  }
  return {
    generatedAt: new Date().toISOString(),
    warnAt: 0.8,
    scopes: [{
      scope: "key:team-a",
      limits: [{
        id: "key:team-a/requests/1m",
        scope: "key:team-a",
        metric: "requests",
        window: "1m",
        semantics: "rolling 1m, in 1s slices",
        limit: 1000,
        used,
        reserved: 0,
        remaining: 1000 - used,
        percent: used / 10,
        state: "ok",
        resetAt: null,
      }],
    }],
    upstream: [],
    recent: records,
  };
}

/** The `used` of the status's one limit. */
export function usedOf(status: QuotaStatus): number {
  return status.scopes[0].limits[0].used;
}

/** Polls `check` every 10 ms until it is true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(10);
  }
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A loopback server with the live route, its hub, and a mutable status. */
export interface LiveServer {
  hub: LiveHub;
  port: number;
  origin: string;
  wsUrl: string;
  /** The `used` the next snapshot reports. */
  used: number;
  /** How many snapshots the hub asked for. */
  snapshots: number;
  /** How many REST status requests arrived. */
  statusRequests: number;
  /** When false, the socket route answers 503 (a server whose socket is broken). */
  socketEnabled: boolean;
  /** Closes the hub, then the server. */
  stop(): Promise<void>;
  /** Closes only the HTTP server: whatever the hub still runs stays visible to the test sanitizers. */
  stopServerOnly(): Promise<void>;
}

/** Options of `startLiveServer`. */
export interface LiveServerOptions {
  hub?: Partial<Omit<LiveHubOptions, "snapshot">>;
  allowlist?: string[];
  authorized?: boolean;
  /** Records per status, to make messages big. */
  recent?: number;
  /** Listen on this port (to restart a server where it was). */
  port?: number;
  used?: number;
}

/** Starts a bare Deno.serve on 127.0.0.1 with the live socket and a REST status route. */
export function startLiveServer(options: LiveServerOptions = {}): LiveServer {
  const state = {
    used: options.used ?? 0,
    snapshots: 0,
    statusRequests: 0,
    socketEnabled: true,
  };
  const hub = new LiveHub({
    snapshot: () => {
      state.snapshots++;
      return Promise.resolve(makeStatus(state.used, options.recent ?? 0));
    },
    ...options.hub,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/api/quota/status") {
        state.statusRequests++;
        return Response.json(makeStatus(state.used));
      }
      if (url.pathname !== "/api/quota/ws") {
        return new Response("not found", { status: 404 });
      }
      if (!state.socketEnabled) {
        return new Response("socket disabled", { status: 503 });
      }
      return handleLiveSocket(req, {
        hub,
        allowlist: options.allowlist ?? [],
        authorized: options.authorized ?? true,
      });
    },
  );
  const port = server.addr.port;
  const live: LiveServer = {
    hub,
    port,
    origin: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/api/quota/ws`,
    get used() {
      return state.used;
    },
    set used(value: number) {
      state.used = value;
    },
    get snapshots() {
      return state.snapshots;
    },
    get statusRequests() {
      return state.statusRequests;
    },
    get socketEnabled() {
      return state.socketEnabled;
    },
    set socketEnabled(value: boolean) {
      state.socketEnabled = value;
    },
    async stop() {
      hub.close();
      await server.shutdown();
    },
    async stopServerOnly() {
      await server.shutdown();
    },
  };
  return live;
}

/** A WebSocket client that keeps every server message it received. */
export interface TestClient {
  socket: WebSocket;
  messages: ServerMessage[];
  closed: Promise<CloseEvent>;
  isClosed(): boolean;
  /** Waits for a message matching `match` not yet consumed by an earlier call. */
  next(
    match: (message: ServerMessage) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<ServerMessage>;
  send(value: unknown): void;
  close(): Promise<void>;
}

/** Opens a WebSocket to `url` (with the page's Origin unless told otherwise). */
export async function connectClient(
  url: string,
  options: { origin?: string; autoPong?: boolean } = {},
): Promise<TestClient> {
  const origin = options.origin ?? url.replace(/^ws/, "http").replace(
    /\/api\/.*$/,
    "",
  );
  // Deno's WebSocket takes headers as an extension, which is how a test plays a browser's Origin.
  const socket = new WebSocket(
    url,
    { headers: { origin } } as unknown as string[],
  );
  const messages: ServerMessage[] = [];
  let cursor = 0;
  let closed = false;
  const closedPromise = new Promise<CloseEvent>((resolve) => {
    socket.addEventListener("close", (event) => {
      closed = true;
      resolve(event);
    });
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data as string) as ServerMessage;
    messages.push(message);
    if (message.type === "ping" && options.autoPong !== false) {
      socket.send(JSON.stringify({ type: "pong" }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener(
      "error",
      () => reject(new Error(`could not connect to ${url}`)),
      { once: true },
    );
  });
  return {
    socket,
    messages,
    closed: closedPromise,
    isClosed: () => closed,
    async next(match, what, timeoutMs = 3_000) {
      let found: ServerMessage | undefined;
      await waitFor(
        () => {
          while (cursor < messages.length) {
            const message = messages[cursor++];
            if (match(message)) {
              found = message;
              return true;
            }
          }
          return false;
        },
        what,
        timeoutMs,
      );
      return found!;
    },
    send(value) {
      socket.send(JSON.stringify(value));
    },
    async close() {
      if (!closed) socket.close(1000);
      await closedPromise;
    },
  };
}

/** What a raw handshake got back. */
export interface RawHandshake {
  conn: Deno.TcpConn;
  status: number;
  head: string;
  /** Bytes after the head that arrived with it (the start of the body). */
  rest: Uint8Array;
}

/**
 * Performs a WebSocket handshake by hand over TCP and returns after the
 * response head; the caller decides whether to ever read again.
 */
export async function rawHandshake(
  port: number,
  headers: Record<string, string>,
  path = "/api/quota/ws",
): Promise<RawHandshake> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${btoa("0123456789abcdef")}`,
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  let received = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  while (true) {
    const n = await conn.read(chunk);
    if (n === null) break;
    const merged = new Uint8Array(received.length + n);
    merged.set(received);
    merged.set(chunk.subarray(0, n), received.length);
    received = merged;
    const text = new TextDecoder().decode(received);
    const end = text.indexOf("\r\n\r\n");
    if (end === -1) continue;
    const head = text.slice(0, end);
    const status = Number(head.split(" ")[1]);
    const headBytes = new TextEncoder().encode(text.slice(0, end + 4)).length;
    return { conn, status, head, rest: received.subarray(headBytes) };
  }
  conn.close();
  throw new Error("the server closed the connection before answering");
}
