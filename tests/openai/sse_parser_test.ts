import assert from "node:assert/strict";
import { SseParser } from "../../lib/openai/sse_parser.ts";
import type { SseEvent } from "../../lib/openai/sse_parser.ts";

function parseAll(chunks: string[]): { events: SseEvent[]; ends: number[][] } {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  const ends: number[][] = [];
  for (const chunk of chunks) {
    const offsets: number[] = [];
    parser.push(new TextEncoder().encode(chunk), (event, end) => {
      events.push(event);
      offsets.push(end);
    });
    ends.push(offsets);
  }
  return { events, ends };
}

Deno.test("sse parser - fields, multi-line data, comments and the three line ends", () => {
  const { events } = parseAll([
    "event: a\ndata: one\ndata:two\n\n: comment\n\ndata: x\r\n\r\nevent: b\rdata: y\r\r",
  ]);
  assert.deepEqual(events, [
    { event: "a", data: "one\ntwo" },
    { event: null, data: "" },
    { event: null, data: "x" },
    { event: "b", data: "y" },
  ]);
});

Deno.test("sse parser - the end offset points just past the blank line within each chunk", () => {
  const { ends } = parseAll(["data: a\n\ndata: b", "\n\n"]);
  assert.deepEqual(ends, [[9], [2]]);
  const crlf = parseAll(["data: a\r\n\r", "\ndata: b\r\n\r\n"]);
  assert.deepEqual(crlf.events.map((e) => e.data), ["a", "b"]);
  assert.deepEqual(crlf.ends, [[10], [12]]);
});
