/**
 * A loopback OpenAI upstream for tests and benchmarks, built from the wire
 * fixtures (tests/fixtures/openai/, a copy of shared/fixtures/openai/): it
 * answers with their exact headers and bytes, records every request, and is
 * scriptable per test (429s of both kinds, 5xx, hangs, cut streams, slow
 * streams of N chunks, custom x-ratelimit-* headers).
 *
 * @example
 * ```ts
 * const upstream = await startFakeUpstream();
 * upstream.script({ kind: "rate_limit", retryAfterMs: "250" });
 * const client = new OpenAI({ baseURL: upstream.url, apiKey: "sk-test", maxRetries: 0 });
 * // ... the next call gets a 429 rate_limit_exceeded
 * await upstream.close();
 * ```
 *
 * @module
 */

/** One fixture file: status line, headers, body bytes. */
export interface Fixture {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
}

/** A request the upstream received. */
export interface RecordedRequest {
  method: string;
  /** Path with query, e.g. `/v1/chat/completions`. */
  path: string;
  headers: Headers;
  /** The parsed JSON body, or null when there was none or it was not JSON. */
  body: unknown;
  rawBody: string;
  /** True when the client went away before the answer was complete. */
  aborted: boolean;
  /** True once the whole answer was handed to the server. */
  completed: boolean;
}

/** What the next request gets instead of the normal answer (one step per request, in order). */
export type ScriptStep =
  | {
    kind: "rate_limit";
    /** `Retry-After` value (seconds or an HTTP date). */
    retryAfter?: string;
    retryAfterMs?: string;
    /** `tokens` (the fixture) or `requests`. */
    type?: "tokens" | "requests";
  }
  | {
    kind: "insufficient_quota";
    /** Older answers had `"code": null` with `type: "insufficient_quota"`. */
    nullCode?: boolean;
    retryAfter?: string;
    retryAfterMs?: string;
  }
  | { kind: "server_error"; status?: number }
  | { kind: "hang" }
  | {
    kind: "cut_stream";
    /** Events sent before the cut; half of the content by default. */
    afterEvents?: number;
    /** `abort` (default) breaks the connection; `close` ends the body cleanly but early. */
    mode?: "abort" | "close";
  }
  | { kind: "slow_stream"; chunks: number; delayMs?: number }
  | { kind: "headers"; headers: Record<string, string> };

/** A running fake upstream. */
export interface FakeUpstream {
  /** Base URL ending in /v1, for `new OpenAI({ baseURL })`. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Queues steps; each of the next requests consumes one. */
  script(...steps: ScriptStep[]): void;
  /** Stops the server, releasing hung requests and open streams. */
  close(): Promise<void>;
}

/** Options of startFakeUpstream. */
export interface FakeUpstreamOptions {
  /** When set, requests must send `Authorization: Bearer <apiKey>` or get the fixture's 401. */
  apiKey?: string;
}

const FIXTURE_DIRS = [
  new URL("../fixtures/openai/", import.meta.url),
  new URL("../../../shared/fixtures/openai/", import.meta.url),
];

const FIXTURE_NAMES = [
  "chat_completion.http",
  "chat_stream_no_usage.sse",
  "chat_stream_with_usage.sse",
  "chat_stream_tool_calls.sse",
  "completions_legacy_stream.sse",
  "embeddings.http",
  "embeddings_base64.http",
  "responses.http",
  "responses_stream.sse",
  "error_429_rate_limit.http",
  "error_429_insufficient_quota.http",
  "error_400_invalid_request.http",
  "error_401_invalid_key.http",
] as const;

/** A fixture file name. */
export type FixtureName = typeof FIXTURE_NAMES[number];

/** Parses a fixture file: `HTTP/1.1 200 OK`, headers, blank line, body. */
export function parseFixture(text: string): Fixture {
  const split = text.indexOf("\n\n");
  const head = text.slice(0, split).split("\n");
  const body = text.slice(split + 2);
  const status = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(head[0]);
  if (!status) {
    throw new Error(`A fixture does not start with a status line: ${head[0]}`);
  }
  const headers = head.slice(1).map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
  });
  return { status: Number(status[1]), statusText: status[2], headers, body };
}

/** Reads one fixture from the repo's copy, or from shared/ beside the clone. */
export async function readFixture(name: FixtureName): Promise<Fixture> {
  for (const dir of FIXTURE_DIRS) {
    try {
      return parseFixture(await Deno.readTextFile(new URL(name, dir)));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  throw new Error(
    `The fixture ${name} was found neither in tests/fixtures/openai/ nor in shared/fixtures/openai/.`,
  );
}

/** Splits an SSE body into its events, each with its terminating blank line. */
export function sseEvents(body: string): string[] {
  return body.split("\n\n").filter((e) => e !== "").map((e) => `${e}\n\n`);
}

const ENCODER = new TextEncoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function withoutUsage(events: string[]): string[] {
  return events
    .filter((e) => !(e.includes('"choices":[]') && e.includes('"usage":{')))
    .map((e) => e.replace(',"usage":null', ""));
}

/** Chat stream events for a scripted stream of N content chunks. */
function syntheticChatEvents(
  template: string[],
  chunks: number,
  includeUsage: boolean,
): string[] {
  const first = JSON.parse(template[0].slice("data: ".length));
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => {
    const body: Record<string, unknown> = { ...first, choices, ...extra };
    if (!includeUsage) delete body.usage;
    return `data: ${JSON.stringify(body)}\n\n`;
  };
  const events = [template[0]];
  for (let i = 0; i < chunks; i++) {
    events.push(
      chunk([{
        index: 0,
        delta: { content: ` tok${i}` },
        logprobs: null,
        finish_reason: null,
      }]),
    );
  }
  events.push(
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]),
  );
  if (includeUsage) {
    events.push(chunk([], {
      usage: {
        prompt_tokens: 12,
        completion_tokens: chunks * 2,
        total_tokens: 12 + chunks * 2,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
    }));
  }
  events.push("data: [DONE]\n\n");
  return events;
}

/** Starts the fake upstream on 127.0.0.1 with a random port. */
export async function startFakeUpstream(
  options: FakeUpstreamOptions = {},
): Promise<FakeUpstream> {
  const fixtures = new Map<FixtureName, Fixture>();
  for (const name of FIXTURE_NAMES) fixtures.set(name, await readFixture(name));
  const fixture = (name: FixtureName) => fixtures.get(name)!;

  const requests: RecordedRequest[] = [];
  const steps: ScriptStep[] = [];
  const releases = new Set<() => void>();
  const abortController = new AbortController();

  const respond = (
    f: Fixture,
    record: RecordedRequest,
    extra: Record<string, string> = {},
    body: string = f.body,
  ): Response => {
    const headers = new Headers(f.headers);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    record.completed = true;
    return new Response(body, {
      status: f.status,
      statusText: f.statusText,
      headers,
    });
  };

  const streamResponse = (
    f: Fixture,
    events: string[],
    record: RecordedRequest,
    extra: Record<string, string>,
    plan: { delayMs?: number; cutAfter?: number; cutMode?: "abort" | "close" } =
      {},
  ): Response => {
    let index = 0;
    let release: () => void = () => {};
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (plan.cutAfter !== undefined && index >= plan.cutAfter) {
          releases.delete(release);
          if (plan.cutMode === "close") {
            record.completed = true;
            controller.close();
          } else {controller.error(
              new Error("The fake upstream cut the stream."),
            );}
          return;
        }
        if (index >= events.length) {
          releases.delete(release);
          record.completed = true;
          controller.close();
          return;
        }
        if (index > 0 && plan.delayMs) await delay(plan.delayMs);
        controller.enqueue(ENCODER.encode(events[index++]));
      },
      cancel() {
        releases.delete(release);
        if (!record.completed) record.aborted = true;
      },
      start(controller) {
        release = () => {
          try {
            controller.error(new Error("The fake upstream closed."));
          } catch {
            // Already closed.
          }
        };
        releases.add(release);
      },
    });
    const headers = new Headers(f.headers);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    return new Response(body, { status: f.status, headers });
  };

  const errorFixture = (
    step: Extract<ScriptStep, { kind: "rate_limit" | "insufficient_quota" }>,
    record: RecordedRequest,
  ): Response => {
    const f = fixture(
      step.kind === "rate_limit"
        ? "error_429_rate_limit.http"
        : "error_429_insufficient_quota.http",
    );
    const extra: Record<string, string> = {};
    if (step.retryAfter !== undefined) extra["retry-after"] = step.retryAfter;
    if (step.retryAfterMs !== undefined) {
      extra["retry-after-ms"] = step.retryAfterMs;
    }
    let body = f.body;
    if (step.kind === "rate_limit" && step.type === "requests") {
      body = body.replace('"type": "tokens"', '"type": "requests"').replace(
        "on tokens per min (TPM): Limit 200000, Used 198170, Requested 2664",
        "on requests per min (RPM): Limit 500, Used 500, Requested 1",
      );
    }
    if (step.kind === "insufficient_quota" && step.nullCode) {
      body = body.replace('"code": "insufficient_quota"', '"code": null');
    }
    return respond(f, record, extra, body);
  };

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const rawBody = request.method === "GET" || request.method === "HEAD"
      ? ""
      : await request.text();
    let body: unknown = null;
    try {
      body = rawBody === "" ? null : JSON.parse(rawBody);
    } catch {
      body = null;
    }
    const record: RecordedRequest = {
      method: request.method,
      path: url.pathname + url.search,
      headers: new Headers(request.headers),
      body,
      rawBody,
      aborted: false,
      completed: false,
    };
    requests.push(record);

    if (
      options.apiKey !== undefined &&
      request.headers.get("authorization") !== `Bearer ${options.apiKey}`
    ) {
      return respond(fixture("error_401_invalid_key.http"), record);
    }

    const step = steps.shift();
    let extra: Record<string, string> = {};
    if (step?.kind === "rate_limit" || step?.kind === "insufficient_quota") {
      return errorFixture(step, record);
    }
    if (step?.kind === "server_error") {
      const status = step.status ?? 500;
      record.completed = true;
      return Response.json({
        error: {
          message:
            "The server had an error while processing your request. Sorry about that!",
          type: "server_error",
          param: null,
          code: null,
        },
      }, { status });
    }
    if (step?.kind === "hang") {
      await new Promise<void>((resolve) => {
        const release = () => {
          releases.delete(release);
          resolve();
        };
        releases.add(release);
        request.signal.addEventListener("abort", () => {
          if (!record.completed) record.aborted = true;
          release();
        }, { once: true });
      });
      return new Response(null, { status: 499 });
    }
    if (step?.kind === "headers") extra = step.headers;

    const json = isObject(body) ? body : {};
    const stream = json.stream === true;
    const includeUsage = isObject(json.stream_options) &&
      json.stream_options.include_usage === true;
    const path = url.pathname.replace(/\/+$/, "");

    const sendStream = (name: FixtureName, events: string[]): Response => {
      if (step?.kind === "slow_stream" && name.startsWith("chat_stream")) {
        const synthetic = syntheticChatEvents(
          events,
          step.chunks,
          includeUsage,
        );
        return streamResponse(fixture(name), synthetic, record, extra, {
          delayMs: step.delayMs,
        });
      }
      if (step?.kind === "cut_stream") {
        const content = events.filter((e) =>
          !e.includes("[DONE]") && !e.includes('"usage":{') &&
          !e.includes("response.completed")
        );
        const cutAfter = step.afterEvents ??
          Math.max(1, Math.floor(content.length / 2));
        return streamResponse(fixture(name), content, record, extra, {
          cutAfter,
          cutMode: step.mode ?? "abort",
        });
      }
      return streamResponse(fixture(name), events, record, extra);
    };

    if (
      request.method === "GET" &&
      (path === "/v1/models" || path.startsWith("/v1/models/"))
    ) {
      const models = ["gpt-4.1-mini", "gpt-5-mini", "text-embedding-3-small"]
        .map((id) => ({
          id,
          object: "model",
          created: 1785000000,
          owned_by: "system",
        }));
      record.completed = true;
      if (path === "/v1/models") {
        return Response.json({ object: "list", data: models }, {
          headers: extra,
        });
      }
      const id = decodeURIComponent(path.slice("/v1/models/".length));
      const found = models.find((m) => m.id === id);
      return found ? Response.json(found, { headers: extra }) : Response.json({
        error: {
          message:
            `The model '${id}' does not exist or you do not have access to it.`,
          type: "invalid_request_error",
          param: null,
          code: "model_not_found",
        },
      }, { status: 404 });
    }

    if (request.method === "POST" && path === "/v1/chat/completions") {
      if (!Array.isArray(json.messages)) {
        return respond(fixture("error_400_invalid_request.http"), record);
      }
      const hasTools = Array.isArray(json.tools) && json.tools.length > 0;
      if (!stream) {
        return respond(fixture("chat_completion.http"), record, extra);
      }
      if (hasTools) {
        const events = sseEvents(fixture("chat_stream_tool_calls.sse").body);
        return sendStream(
          "chat_stream_tool_calls.sse",
          includeUsage ? events : withoutUsage(events),
        );
      }
      const name = includeUsage
        ? "chat_stream_with_usage.sse"
        : "chat_stream_no_usage.sse";
      return sendStream(name, sseEvents(fixture(name).body));
    }
    if (request.method === "POST" && path === "/v1/completions") {
      const events = sseEvents(fixture("completions_legacy_stream.sse").body);
      if (stream) {
        return sendStream(
          "completions_legacy_stream.sse",
          includeUsage ? events : withoutUsage(events),
        );
      }
      // No non-stream fixture: assemble the answer from the stream's chunks.
      const chunks = events.filter((e) => e.startsWith("data: {")).map((e) =>
        JSON.parse(e.slice(6))
      );
      const last = chunks[chunks.length - 1];
      record.completed = true;
      return Response.json({
        id: last.id,
        object: "text_completion",
        created: last.created,
        model: last.model,
        choices: [{
          text: chunks.flatMap((c) =>
            c.choices.map((ch: { text: string }) => ch.text)
          ).join(""),
          index: 0,
          logprobs: null,
          finish_reason: "length",
        }],
        usage: last.usage,
      }, {
        headers: {
          ...Object.fromEntries(
            fixture("completions_legacy_stream.sse").headers,
          ),
          "content-type": "application/json",
          ...extra,
        },
      });
    }
    if (request.method === "POST" && path === "/v1/embeddings") {
      const base64 = json.encoding_format === "base64";
      const f = fixture(base64 ? "embeddings_base64.http" : "embeddings.http");
      const inputs = Array.isArray(json.input) && json.input.length > 0 &&
          typeof json.input[0] !== "number"
        ? json.input.length
        : 1;
      if (inputs === 1) return respond(f, record, extra);
      const parsed = JSON.parse(f.body);
      parsed.data = Array.from(
        { length: inputs },
        (_, index) => ({ ...parsed.data[0], index }),
      );
      parsed.usage = {
        prompt_tokens: parsed.usage.prompt_tokens * inputs,
        total_tokens: parsed.usage.total_tokens * inputs,
      };
      return respond(f, record, extra, JSON.stringify(parsed, null, 2) + "\n");
    }
    if (request.method === "POST" && path === "/v1/responses") {
      if (stream) {
        return sendStream(
          "responses_stream.sse",
          sseEvents(fixture("responses_stream.sse").body),
        );
      }
      return respond(fixture("responses.http"), record, extra);
    }
    record.completed = true;
    return Response.json({
      error: {
        message: `Invalid URL (${request.method} ${url.pathname})`,
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    }, { status: 404 });
  };

  const { promise: listening, resolve: onListen } = Promise.withResolvers<
    Deno.NetAddr
  >();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: abortController.signal,
    onListen: (addr) => onListen(addr as Deno.NetAddr),
  }, handle);
  const addr = await listening;

  return {
    url: `http://127.0.0.1:${addr.port}/v1`,
    requests,
    script(...more: ScriptStep[]) {
      steps.push(...more);
    },
    async close() {
      for (const release of [...releases]) release();
      abortController.abort();
      await server.finished;
    },
  };
}
