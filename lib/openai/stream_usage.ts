/**
 * A pass-through tap on a provider's SSE stream that learns the call's usage
 * without delaying the client.
 *
 * Every chunk is forwarded the moment it arrives, byte for byte. The one
 * exception is when the proxy itself injected `include_usage`: then the
 * usage-only chunk (`choices: []` plus `usage`) must not reach the client,
 * so the bytes of an event are held until the event is complete and then
 * forwarded or dropped. An SSE client cannot act on half an event anyway,
 * so holding the unfinished tail delays nothing the client could see.
 *
 * On the side it parses the events and captures:
 * - usage from any chat/completions chunk that carries it (choices empty or
 *   not), and from Responses `response.completed` / `incomplete` / `failed`;
 * - the delivered text (content, refusals, tool-call names and argument
 *   fragments, legacy completion text, Responses `*.delta` text), so that a
 *   stream cut before its usage can still be estimated;
 * - whether the stream reached its proper end, and the model that answered.
 *
 * @example
 * ```ts
 * const tap = createStreamUsageTap({ dropInjectedUsage: forward.injectedUsage });
 * tap.done.then((r) => settle(r.usage ?? estimateFrom(r.deliveredText)));
 * return new Response(upstream.body!.pipeThrough(tap.stream), { headers });
 * ```
 *
 * @module
 */

import type { UsageCounts } from "../quota/types.ts";
import { SseParser } from "./sse_parser.ts";
import type { SseEvent } from "./sse_parser.ts";
import { normalizeUsage } from "./usage.ts";

/** What the tap learned from a stream. */
export interface StreamUsageResult {
  /** The provider's usage, or null when it sent none (or sent impossible numbers). */
  usage: UsageCounts | null;
  /** Why a usage object that was sent could not be used. */
  usageError?: string;
  /** The text the client received, for an estimate when usage is missing. */
  deliveredText: string;
  /** The stream reached its proper end: `data: [DONE]` or a terminal Responses event. */
  sawDone: boolean;
  /** The model the provider answered with (the dated snapshot). */
  model?: string;
  /** An error the provider sent inside the stream. */
  error?: { message: string; type?: string; code?: string | null };
  /**
   * `open` while running; `flushed` when the upstream ended the body;
   * `cancelled` when the client went away or the upstream body failed.
   */
  ending: "open" | "flushed" | "cancelled";
}

/** Options of the tap. */
export interface StreamUsageOptions {
  /** True when the proxy injected include_usage: remove the usage-only chunk. */
  dropInjectedUsage?: boolean;
}

/** The tap: a stream to pipe through, and what it learned. */
export interface StreamUsageTap {
  readonly stream: TransformStream<Uint8Array, Uint8Array>;
  /** A snapshot of what was learned so far. */
  result(): StreamUsageResult;
  /** Resolves once when the stream ends, whichever way. */
  readonly done: Promise<StreamUsageResult>;
}

type Json = Record<string, unknown>;

const LF = 10;
const TERMINAL_RESPONSE_EVENTS = new Set([
  "response.completed",
  "response.incomplete",
  "response.failed",
]);
// Deltas that are not text the model wrote as tokens we can count.
const NON_TEXT_DELTAS = new Set(["response.audio.delta"]);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Collects what a stream says; separate from the byte handling so it stays testable. */
class StreamObserver {
  usage: UsageCounts | null = null;
  usageError?: string;
  text: string[] = [];
  sawDone = false;
  model?: string;
  error?: StreamUsageResult["error"];

  /** Returns true when this event is the usage-only chunk. */
  observe(event: SseEvent): boolean {
    const data = event.data;
    if (data === "") return false;
    if (data === "[DONE]") {
      this.sawDone = true;
      return false;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return false;
    }
    if (!isObject(parsed)) return false;
    // Responses events carry a `type`; chat and legacy chunks never do.
    if (typeof parsed.type === "string") {
      this.#observeResponsesEvent(parsed.type, parsed);
      return false;
    }
    return this.#observeChunk(parsed);
  }

  #captureUsage(raw: unknown): void {
    if (!isObject(raw)) return;
    const normalized = normalizeUsage(raw);
    if (normalized.ok) {
      this.usage = normalized.usage;
      this.usageError = undefined;
    } else {
      this.usageError = normalized.error;
    }
  }

  #recordError(raw: unknown): void {
    const err = isObject(raw) ? raw : {};
    this.error = {
      message: typeof err.message === "string"
        ? err.message
        : "The provider reported an error in the stream.",
      type: typeof err.type === "string" ? err.type : undefined,
      code: typeof err.code === "string" ? err.code : null,
    };
  }

  #observeResponsesEvent(type: string, event: Json): void {
    if (isObject(event.response) && typeof event.response.model === "string") {
      this.model = event.response.model;
    }
    if (TERMINAL_RESPONSE_EVENTS.has(type)) {
      this.sawDone = true;
      if (isObject(event.response)) this.#captureUsage(event.response.usage);
      if (type === "response.failed" && isObject(event.response)) {
        this.#recordError(event.response.error);
      }
      return;
    }
    if (type === "error") {
      this.#recordError(event.error ?? event);
      return;
    }
    if (
      type.endsWith(".delta") && typeof event.delta === "string" &&
      !NON_TEXT_DELTAS.has(type)
    ) {
      this.text.push(event.delta);
      return;
    }
    if (
      type === "response.output_item.added" && isObject(event.item) &&
      typeof event.item.name === "string"
    ) {
      this.text.push(event.item.name);
    }
  }

  #observeChunk(chunk: Json): boolean {
    if (typeof chunk.model === "string") this.model = chunk.model;
    if (chunk.error !== undefined) this.#recordError(chunk.error);
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) {
      if (!isObject(choice)) continue;
      if (typeof choice.text === "string") this.text.push(choice.text);
      const delta = choice.delta;
      if (!isObject(delta)) continue;
      if (typeof delta.content === "string") this.text.push(delta.content);
      if (typeof delta.refusal === "string") this.text.push(delta.refusal);
      const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
      for (const call of calls) {
        if (isObject(call) && isObject(call.function)) {
          this.#pushFunction(call.function);
        }
      }
      if (isObject(delta.function_call)) {
        this.#pushFunction(delta.function_call);
      }
    }
    const hasUsage = isObject(chunk.usage);
    if (hasUsage) this.#captureUsage(chunk.usage);
    return hasUsage && Array.isArray(chunk.choices) &&
      chunk.choices.length === 0;
  }

  #pushFunction(fn: Json): void {
    if (typeof fn.name === "string") this.text.push(fn.name);
    if (typeof fn.arguments === "string") this.text.push(fn.arguments);
  }
}

/**
 * Creates a tap. Pipe the provider's body through `stream` and return the
 * readable side to the client; read `done` (or `result()`) to settle.
 */
export function createStreamUsageTap(
  options: StreamUsageOptions = {},
): StreamUsageTap {
  const drop = options.dropInjectedUsage === true;
  const parser = new SseParser();
  const observer = new StreamObserver();
  let ending: StreamUsageResult["ending"] = "open";
  let resolveDone!: (result: StreamUsageResult) => void;
  const done = new Promise<StreamUsageResult>((resolve) => {
    resolveDone = resolve;
  });
  // Drop mode only: bytes of the unfinished event from earlier chunks.
  let held: Uint8Array[] = [];
  let lastKept = true;

  const result = (): StreamUsageResult => ({
    usage: observer.usage,
    ...(observer.usageError !== undefined
      ? { usageError: observer.usageError }
      : {}),
    deliveredText: observer.text.join(""),
    sawDone: observer.sawDone,
    ...(observer.model !== undefined ? { model: observer.model } : {}),
    ...(observer.error !== undefined ? { error: observer.error } : {}),
    ending,
  });
  const finish = (how: "flushed" | "cancelled") => {
    if (ending !== "open") return;
    ending = how;
    resolveDone(result());
  };

  const transformer: Transformer<Uint8Array, Uint8Array> = {
    transform(chunk, controller) {
      if (!drop) {
        controller.enqueue(chunk);
        parser.push(chunk, (event) => {
          observer.observe(event);
        });
        return;
      }
      let from = 0;
      if (held.length === 0 && parser.endedWithCR && chunk[0] === LF) {
        // The LF of a CRLF that ended the previous event goes with that event.
        if (lastKept) controller.enqueue(chunk.subarray(0, 1));
        from = 1;
      }
      parser.push(chunk, (event, end) => {
        const isUsageOnly = observer.observe(event);
        lastKept = !isUsageOnly;
        if (lastKept) {
          for (const part of held) controller.enqueue(part);
          if (end > from) controller.enqueue(chunk.subarray(from, end));
        }
        held = [];
        from = end;
      });
      if (from < chunk.length) held.push(chunk.slice(from));
    },
    flush(controller) {
      // An unfinished last event is forwarded as it came: it was never ours to drop.
      for (const part of held) controller.enqueue(part);
      held = [];
      finish("flushed");
    },
    cancel() {
      held = [];
      finish("cancelled");
    },
  };
  return { stream: new TransformStream(transformer), result, done };
}
