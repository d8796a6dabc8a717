/**
 * An incremental Server-Sent Events parser over raw bytes. Network chunks
 * may split an event anywhere (inside a line, inside a UTF-8 sequence,
 * between CR and LF); the parser keeps only the current line and the
 * current event's data, and reports where in each chunk an event ended, so
 * that a caller can forward or drop exact byte ranges.
 *
 * Line ends are LF, CRLF or CR, as the SSE specification allows.
 *
 * @module
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, or null when the event had none. */
  event: string | null;
  /** The `data:` lines joined by "\n"; empty for comment-only blocks. */
  data: string;
}

/** Called at every blank line, with the offset in the current chunk just past it. */
export type SseEventHandler = (event: SseEvent, endOffset: number) => void;

const LF = 10;
const CR = 13;

/** Feeds bytes in, calls back once per event (blank line). */
export class SseParser {
  #line: Uint8Array[] = [];
  #afterCR = false;
  #data: string[] = [];
  #event: string | null = null;
  #decoder = new TextDecoder();

  /**
   * True when the last chunk ended with a CR: an LF opening the next chunk
   * completes that CRLF and belongs to the line before it.
   */
  get endedWithCR(): boolean {
    return this.#afterCR;
  }

  /**
   * Parses one network chunk. `onEvent` runs for each event the chunk
   * completes, with the offset (within this chunk) just past the blank line
   * that ended it.
   */
  push(chunk: Uint8Array, onEvent: SseEventHandler): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== LF && byte !== CR) continue;
      if (
        byte === LF && this.#afterCR && i === start && this.#line.length === 0
      ) {
        // The LF of a CRLF whose CR ended the previous line.
        this.#afterCR = false;
        start = i + 1;
        continue;
      }
      this.#line.push(chunk.subarray(start, i));
      this.#afterCR = byte === CR;
      let end = i + 1;
      if (byte === CR && i + 1 < chunk.length && chunk[i + 1] === LF) {
        end = i + 2;
        this.#afterCR = false;
        i++;
      }
      start = end;
      this.#endLine(end, onEvent);
    }
    if (start < chunk.length) {
      this.#afterCR = false;
      this.#line.push(chunk.slice(start));
    }
  }

  #endLine(endOffset: number, onEvent: SseEventHandler): void {
    const parts = this.#line;
    this.#line = [];
    const line = parts.length === 1
      ? this.#decoder.decode(parts[0])
      : this.#decoder.decode(concat(parts));
    if (line === "") {
      const event: SseEvent = {
        event: this.#event,
        data: this.#data.join("\n"),
      };
      this.#data = [];
      this.#event = null;
      onEvent(event, endOffset);
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
