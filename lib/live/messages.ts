/**
 * The messages on the live quota socket (`GET /api/quota/ws`). This is a public
 * protocol: dashboards, other front ends and monitoring scripts speak it, so
 * fields are only ever added, never renamed or removed.
 *
 * Every message is one JSON text frame with a `type`.
 *
 * Server → client:
 * - `{"type":"snapshot","seq":1,"status":{…},"heartbeatMs":25000}`: the full
 *   status. Always the first message on a connection, and the answer to a
 *   `resync`. A client replaces whatever it holds with it.
 * - `{"type":"update","seq":2,"status":{…}}`: the status after one or more
 *   changes (changes are coalesced, so a busy gateway sends only a few a
 *   second). `status` is always the full status today, so applying an update
 *   is a replacement too; a future diff form would come as a new `type`.
 * - `{"type":"ping","t":1718000000000}`: a heartbeat (server time, epoch ms).
 *   It keeps proxies from cutting an idle socket and lets the client tell a
 *   live connection from a dead one. The client answers with `pong`.
 *
 * Client → server:
 * - `{"type":"pong"}`: the answer to `ping`. Any message counts as a sign of
 *   life; a peer silent longer than the server's idle timeout is closed.
 * - `{"type":"resync"}`: asks for a fresh `snapshot`, e.g. after a seq gap.
 *
 * Sequence numbers are per connection: the first snapshot has seq 1 and every
 * snapshot or update sent on that connection has the previous seq plus one.
 * Pings carry no seq. A gap (an update whose seq is not lastSeq + 1) therefore
 * means a message was lost; the client sends `resync` and waits for the
 * snapshot. A new connection starts again at 1.
 *
 * @module
 */

import type { QuotaStatus } from "../quota/types.ts";

/** The full status; the first message on every connection and the answer to `resync`. */
export interface SnapshotMessage {
  type: "snapshot";
  seq: number;
  status: QuotaStatus;
  /** The server's heartbeat interval, so a client knows when silence means trouble. */
  heartbeatMs?: number;
}

/** The status after one or more coalesced changes (always a full status). */
export interface UpdateMessage {
  type: "update";
  seq: number;
  status: QuotaStatus;
}

/** A heartbeat; `t` is the server's clock in epoch milliseconds. */
export interface PingMessage {
  type: "ping";
  t: number;
}

/** Everything the server sends. */
export type ServerMessage = SnapshotMessage | UpdateMessage | PingMessage;

/** The answer to a ping. */
export interface PongMessage {
  type: "pong";
}

/** A request for a fresh snapshot. */
export interface ResyncMessage {
  type: "resync";
}

/** Everything a client sends. */
export type ClientMessage = PongMessage | ResyncMessage;

/** Close code: the peer stayed silent longer than the idle timeout. */
export const CLOSE_IDLE = 4000;
/** Close code: the peer did not read its messages for too long (backpressure). */
export const CLOSE_TOO_SLOW = 4008;
/** Close code: the server is shutting down (standard "going away"). */
export const CLOSE_GOING_AWAY = 1001;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) &&
    value >= 1;
}

function looksLikeStatus(value: unknown): value is QuotaStatus {
  return isRecord(value) && Array.isArray(value.scopes);
}

function parseJson(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads one server frame; null when it is not a message this protocol knows
 * (clients ignore such frames, so the server can add types later).
 */
export function parseServerMessage(text: unknown): ServerMessage | null {
  const value = parseJson(text);
  if (!isRecord(value)) return null;
  if (value.type === "ping") {
    return typeof value.t === "number" ? { type: "ping", t: value.t } : null;
  }
  if (value.type !== "snapshot" && value.type !== "update") return null;
  if (!isSeq(value.seq) || !looksLikeStatus(value.status)) return null;
  if (value.type === "update") {
    return { type: "update", seq: value.seq, status: value.status };
  }
  const message: SnapshotMessage = {
    type: "snapshot",
    seq: value.seq,
    status: value.status,
  };
  if (typeof value.heartbeatMs === "number" && value.heartbeatMs > 0) {
    message.heartbeatMs = value.heartbeatMs;
  }
  return message;
}

/** Reads one client frame; null for anything else (the server ignores it). */
export function parseClientMessage(text: unknown): ClientMessage | null {
  const value = parseJson(text);
  if (!isRecord(value)) return null;
  if (value.type === "pong") return { type: "pong" };
  if (value.type === "resync") return { type: "resync" };
  return null;
}
