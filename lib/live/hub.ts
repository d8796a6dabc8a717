/**
 * The hub that fans quota changes out to WebSocket clients.
 *
 * The engine calls `notify()` on every change; the hub computes at most one
 * status snapshot per coalescing tick and sends it to every client, so a busy
 * gateway costs one status computation and a few messages a second however
 * many calls it serves. See `messages.ts` for the protocol and README for the
 * policies (seq, heartbeat, backpressure).
 *
 * @module
 */

import type { QuotaStatus } from "../quota/types.ts";
import {
  CLOSE_GOING_AWAY,
  CLOSE_IDLE,
  CLOSE_TOO_SLOW,
  parseClientMessage,
} from "./messages.ts";

/** A timer handle (a number in browsers and Deno, an object under Node types). */
type Timer = ReturnType<typeof setTimeout>;

/** Options of a `LiveHub`. */
export interface LiveHubOptions {
  /** Computes the full status; the same code path as REST. */
  snapshot: () => Promise<QuotaStatus>;
  /** At most one snapshot per this many ms (default 100). */
  coalesceMs?: number;
  /** Ping interval, at most 25000 ms so proxies keep idle sockets (default 20000). */
  heartbeatMs?: number;
  /** A peer that sends nothing (not even a pong) for this long is closed (default 2.5 heartbeats). */
  idleTimeoutMs?: number;
  /** Above this many unsent bytes on a socket, the hub skips sending to it (default 1 MiB). */
  maxBufferedBytes?: number;
  /** A socket that stays above `maxBufferedBytes` this long is closed with 4008 (default 15000). */
  stallTimeoutMs?: number;
  /** Where snapshot failures go (default console.error). */
  onError?: (error: unknown) => void;
}

/** Counts for metrics and tests. */
export interface LiveHubStats {
  /** Sockets the hub holds. */
  clients: number;
  /** Sockets currently skipped because they do not read. */
  stalled: number;
  /** The sum of every held socket's unsent bytes. */
  bufferedBytes: number;
  /** Timers the hub has running: 0 once no client is left, so leaks show. */
  timers: number;
}

interface Client {
  socket: WebSocket;
  /** Aborting it removes every listener the hub added. */
  listeners: AbortController;
  open: boolean;
  /** The seq of the last snapshot or update sent (0 before the first). */
  seq: number;
  /** The change generation of the last status sent (-1 before the first). */
  sentGen: number;
  needsSnapshot: boolean;
  lastHeardAt: number;
  lastPingAt: number;
  stalledSince: number | null;
}

interface CachedStatus {
  /** The change generation the status was computed for. */
  gen: number;
  /** When its computation started. */
  at: number;
  json: string;
}

/** Browsers and proxies commonly cut sockets idle for 30 s or more. */
const MAX_HEARTBEAT_MS = 25_000;
/** A status computed this recently, with no change since, is reused for a new client. */
const SNAPSHOT_REUSE_MS = 1_000;
/** After a failed snapshot, wait this long before trying again. */
const SNAPSHOT_RETRY_MS = 1_000;
const DEFAULT_COALESCE_MS = 100;
const DEFAULT_HEARTBEAT_MS = 20_000;
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const DEFAULT_STALL_TIMEOUT_MS = 15_000;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `LiveHub option ${name} must be a positive number of milliseconds or bytes, not ${value}.`,
    );
  }
  return value;
}

/**
 * Fans quota changes out to WebSocket clients, coalesced, with heartbeats,
 * idle detection and bounded per-client buffering.
 *
 * @example
 * ```ts
 * const hub = new LiveHub({ snapshot: () => engine.status() });
 * engine.onChange(() => hub.notify());
 * // in the /api/quota/ws route: hub.accept(Deno.upgradeWebSocket(req).socket)
 * ```
 */
export class LiveHub {
  readonly #snapshot: () => Promise<QuotaStatus>;
  readonly #coalesceMs: number;
  readonly #heartbeatMs: number;
  readonly #idleTimeoutMs: number;
  readonly #maxBufferedBytes: number;
  readonly #stallTimeoutMs: number;
  readonly #onError: (error: unknown) => void;

  readonly #clients = new Map<WebSocket, Client>();
  #closed = false;
  /** Grows with every notify(); a client is current when it was sent this generation. */
  #changeGen = 0;
  #cache: CachedStatus | null = null;
  #computing = false;
  #lastFlushAt = -Infinity;
  #flushTimer: Timer | undefined;
  #retryTimer: Timer | undefined;
  #housekeepingTimer: Timer | undefined;
  #drainTimer: Timer | undefined;

  constructor(options: LiveHubOptions) {
    this.#snapshot = options.snapshot;
    this.#coalesceMs = positive(
      "coalesceMs",
      options.coalesceMs ?? DEFAULT_COALESCE_MS,
    );
    this.#heartbeatMs = positive(
      "heartbeatMs",
      options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    );
    if (this.#heartbeatMs > MAX_HEARTBEAT_MS) {
      throw new RangeError(
        `LiveHub option heartbeatMs must be at most ${MAX_HEARTBEAT_MS} ms, or proxies may cut idle sockets; it was ${this.#heartbeatMs}.`,
      );
    }
    this.#idleTimeoutMs = positive(
      "idleTimeoutMs",
      options.idleTimeoutMs ?? this.#heartbeatMs * 2.5,
    );
    this.#maxBufferedBytes = positive(
      "maxBufferedBytes",
      options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    );
    this.#stallTimeoutMs = positive(
      "stallTimeoutMs",
      options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    );
    this.#onError = options.onError ?? ((error) => {
      console.error("live hub: computing the status failed:", error);
    });
  }

  /** The number of sockets the hub holds (closed and failed ones are gone). */
  get size(): number {
    return this.#clients.size;
  }

  /** Counts for metrics and tests. */
  stats(): LiveHubStats {
    let stalled = 0;
    let bufferedBytes = 0;
    for (const client of this.#clients.values()) {
      if (client.stalledSince !== null) stalled++;
      bufferedBytes += client.socket.bufferedAmount;
    }
    const timers = [
      this.#flushTimer,
      this.#retryTimer,
      this.#housekeepingTimer,
      this.#drainTimer,
    ].filter((timer) => timer !== undefined).length;
    return { clients: this.#clients.size, stalled, bufferedBytes, timers };
  }

  /**
   * Tells the hub that the quota changed. Cheap: call it on every engine
   * change; clients get one update per coalescing tick.
   */
  notify(): void {
    if (this.#closed) return;
    this.#changeGen++;
    if (this.#clients.size === 0) return;
    this.#scheduleFlush();
  }

  /**
   * Takes a socket from `Deno.upgradeWebSocket`: sends it a full snapshot as
   * soon as it is open, then updates and heartbeats, until it closes.
   */
  accept(socket: WebSocket): void {
    if (this.#closed) {
      closeQuietly(socket, CLOSE_GOING_AWAY, "The server is shutting down.");
      return;
    }
    if (
      socket.readyState === WebSocket.CLOSING ||
      socket.readyState === WebSocket.CLOSED
    ) return;
    const now = Date.now();
    const client: Client = {
      socket,
      listeners: new AbortController(),
      open: false,
      seq: 0,
      sentGen: -1,
      needsSnapshot: true,
      lastHeardAt: now,
      lastPingAt: now,
      stalledSince: null,
    };
    this.#clients.set(socket, client);
    const signal = client.listeners.signal;
    socket.addEventListener(
      "message",
      (event) => this.#onMessage(client, event),
      {
        signal,
      },
    );
    socket.addEventListener("close", () => this.#remove(client), { signal });
    socket.addEventListener("error", () => this.#remove(client), { signal });
    if (socket.readyState === WebSocket.OPEN) {
      this.#onOpen(client);
    } else {
      socket.addEventListener("open", () => this.#onOpen(client), { signal });
    }
    this.#startHousekeeping();
  }

  /** Closes every socket (1001) and stops every timer; later accepts are refused. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const client of [...this.#clients.values()]) {
      this.#drop(
        client,
        CLOSE_GOING_AWAY,
        "The server is shutting down; reconnect shortly.",
      );
    }
    this.#stopTimers();
  }

  #onOpen(client: Client): void {
    if (!this.#clients.has(client.socket)) return;
    client.open = true;
    client.lastPingAt = Date.now();
    this.#requestSnapshot(client);
  }

  #onMessage(client: Client, event: MessageEvent): void {
    client.lastHeardAt = Date.now();
    const message = parseClientMessage(event.data);
    if (message?.type === "resync") this.#requestSnapshot(client);
  }

  #requestSnapshot(client: Client): void {
    client.needsSnapshot = true;
    const cache = this.#cache;
    const fresh = cache !== null && cache.gen === this.#changeGen &&
      Date.now() - cache.at <= SNAPSHOT_REUSE_MS;
    if (fresh) {
      this.#deliver(client);
      return;
    }
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#closed || this.#computing) return;
    if (this.#flushTimer !== undefined || this.#retryTimer !== undefined) {
      return;
    }
    // The first change after a quiet spell goes out at once (setTimeout 0
    // still batches a synchronous burst); later ones wait for the next tick.
    const wait = Math.max(0, this.#lastFlushAt + this.#coalesceMs - Date.now());
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush();
    }, wait);
  }

  async #flush(): Promise<void> {
    if (this.#closed || this.#clients.size === 0) return;
    this.#computing = true;
    const gen = this.#changeGen;
    const startedAt = Date.now();
    this.#lastFlushAt = startedAt;
    let json: string;
    try {
      json = JSON.stringify(await this.#snapshot());
    } catch (error) {
      this.#computing = false;
      this.#onError(error);
      if (!this.#closed) {
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#scheduleFlush();
        }, SNAPSHOT_RETRY_MS);
      }
      return;
    }
    this.#computing = false;
    if (this.#closed) return;
    this.#cache = { gen, at: startedAt, json };
    for (const client of [...this.#clients.values()]) this.#deliver(client);
    if (this.#changeGen !== gen) this.#scheduleFlush();
  }

  /** Sends the cached status to one client if it lacks it and can take it. */
  #deliver(client: Client): void {
    const cache = this.#cache;
    if (!client.open || cache === null) return;
    if (!client.needsSnapshot && client.sentGen >= cache.gen) return;
    if (client.socket.bufferedAmount > this.#maxBufferedBytes) {
      this.#markStalled(client);
      return;
    }
    const seq = client.seq + 1;
    const text = client.needsSnapshot
      ? `{"type":"snapshot","seq":${seq},"heartbeatMs":${this.#heartbeatMs},"status":${cache.json}}`
      : `{"type":"update","seq":${seq},"status":${cache.json}}`;
    if (!this.#send(client, text)) return;
    client.seq = seq;
    client.sentGen = cache.gen;
    client.needsSnapshot = false;
    client.stalledSince = null;
  }

  #send(client: Client, text: string): boolean {
    try {
      client.socket.send(text);
      return true;
    } catch {
      // Sending throws only when the socket is no longer open.
      this.#remove(client);
      return false;
    }
  }

  #markStalled(client: Client): void {
    client.stalledSince ??= Date.now();
    if (this.#closed || this.#drainTimer !== undefined) return;
    const every = Math.max(10, Math.min(this.#coalesceMs, 100));
    this.#drainTimer = setInterval(() => this.#checkStalled(), every);
  }

  /** Catches stalled clients up once they drain; closes those stalled too long. */
  #checkStalled(): void {
    const now = Date.now();
    let stillStalled = 0;
    for (const client of [...this.#clients.values()]) {
      if (client.stalledSince === null) continue;
      if (client.socket.bufferedAmount <= this.#maxBufferedBytes) {
        client.stalledSince = null;
        this.#deliver(client);
        continue;
      }
      if (now - client.stalledSince > this.#stallTimeoutMs) {
        this.#drop(
          client,
          CLOSE_TOO_SLOW,
          "The client did not read its messages for too long; reconnect to get the current status.",
        );
        continue;
      }
      stillStalled++;
    }
    if (stillStalled === 0) this.#stopDrainTimer();
  }

  #startHousekeeping(): void {
    if (this.#housekeepingTimer !== undefined) return;
    const every = Math.max(
      10,
      Math.min(this.#heartbeatMs, Math.floor(this.#idleTimeoutMs / 4)),
    );
    this.#housekeepingTimer = setInterval(() => this.#housekeeping(), every);
  }

  /** Closes idle peers and sends heartbeats. */
  #housekeeping(): void {
    const now = Date.now();
    for (const client of [...this.#clients.values()]) {
      if (now - client.lastHeardAt > this.#idleTimeoutMs) {
        this.#drop(
          client,
          CLOSE_IDLE,
          `The client sent nothing for ${this.#idleTimeoutMs} ms, not even a pong; reconnect.`,
        );
        continue;
      }
      if (!client.open || now - client.lastPingAt < this.#heartbeatMs) continue;
      if (client.socket.bufferedAmount > this.#maxBufferedBytes) {
        this.#markStalled(client);
        continue;
      }
      client.lastPingAt = now;
      this.#send(client, `{"type":"ping","t":${now}}`);
    }
  }

  /** Forgets a client and closes its socket with a code and a reason. */
  #drop(client: Client, code: number, reason: string): void {
    this.#remove(client);
    closeQuietly(client.socket, code, reason);
  }

  /** Forgets a client: listeners removed, timers stopped when none is left. */
  #remove(client: Client): void {
    if (this.#clients.get(client.socket) !== client) return;
    this.#clients.delete(client.socket);
    client.listeners.abort();
    if (this.#clients.size > 0) return;
    this.#stopTimers();
  }

  #stopDrainTimer(): void {
    if (this.#drainTimer === undefined) return;
    clearInterval(this.#drainTimer);
    this.#drainTimer = undefined;
  }

  #stopTimers(): void {
    this.#stopDrainTimer();
    clearInterval(this.#housekeepingTimer);
    this.#housekeepingTimer = undefined;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  // Deno ignores close() on a socket whose handshake is still being sent, and
  // the peer would then see it open: close it as soon as it opens instead.
  if (socket.readyState === WebSocket.CONNECTING) {
    socket.addEventListener("open", () => closeQuietly(socket, code, reason), {
      once: true,
    });
    return;
  }
  try {
    socket.close(code, reason);
  } catch {
    // Already closing or closed: nothing left to do.
  }
}
