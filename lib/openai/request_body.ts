/**
 * Reads a proxied request body: what the call is (model, stream), what it
 * can cost at most (its input to count, its output bound) and the body to
 * forward (with `stream_options.include_usage` injected where needed).
 *
 * Pure: no I/O. Bad input becomes a RequestBodyError the route turns into a
 * 400 with `invalidRequest(error.message, error)`.
 *
 * @module
 */

import type {
  MessageInput,
  TokenInput,
  ToolInput,
} from "../quota/token_estimate.ts";

/** The endpoints the proxy admits and accounts. */
export type Endpoint =
  | "chat.completions"
  | "completions"
  | "embeddings"
  | "responses";

/** What a request body says about the call. */
export interface ParsedRequest {
  endpoint: Endpoint;
  model: string;
  stream: boolean;
  /** The client itself sent `stream_options.include_usage: true`. */
  clientAskedUsage: boolean;
  /**
   * The most output tokens the call can produce, all choices together
   * (`max_tokens` / `max_completion_tokens` / `max_output_tokens` times `n`
   * and prompts); `null` when the caller set no bound (chat, responses).
   * Legacy completions default to 16 per choice as OpenAI does; embeddings
   * have no output, so 0.
   */
  maxOutputTokens: number | null;
  /** How many outputs the call generates (n, best_of, several prompts); multiply a default bound by it. */
  outputs: number;
  /** The input to count for the estimate. */
  tokenInput: TokenInput;
  /**
   * True when the provider will also bill context this body does not show
   * (`previous_response_id`, `conversation`), so the estimate is low.
   */
  hiddenContext: boolean;
  /** The parsed JSON body. */
  body: Record<string, unknown>;
  /** The body text as received, forwarded unchanged when nothing is injected. */
  raw: string;
}

/** Why a body was refused; the fields map onto OpenAI's error shape. */
export interface RequestBodyError {
  message: string;
  param: string | null;
  code: string;
}

/** The outcome of parseRequestBody. */
export type ParseResult =
  | { ok: true; request: ParsedRequest }
  | { ok: false; error: RequestBodyError };

/** The body to send upstream. */
export interface ForwardBody {
  body: string;
  /** True when the proxy added include_usage: the stream's usage-only chunk must then be removed. */
  injectedUsage: boolean;
}

/** Tokens assumed for one image part (a 1024×1024 image at high detail on gpt-4o). */
export const IMAGE_PART_TOKENS = 765;
/** Tokens of an image part at `detail: "low"`. */
const IMAGE_LOW_DETAIL_TOKENS = 85;
/** OpenAI's own default max_tokens for legacy /v1/completions. */
const LEGACY_COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

const PATHS: Record<string, Endpoint> = {
  "/chat/completions": "chat.completions",
  "/completions": "completions",
  "/embeddings": "embeddings",
  "/responses": "responses",
};

/**
 * The accounted endpoint a path names, or null for the other /v1 paths
 * (which pass through and count as requests). Accepts `/v1/...` or the part
 * after `/v1`.
 */
export function endpointForPath(pathname: string): Endpoint | null {
  const path = pathname.replace(/^\/v1(?=\/)/, "").replace(/\/+$/, "");
  return PATHS[path] ?? null;
}

type Json = Record<string, unknown>;

class BodyError extends Error {
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string,
  ) {
    super(message);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") {
    return Number.isInteger(value) ? "an integer" : "a number";
  }
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function wrongType(param: string, expected: string, value: unknown): never {
  throw new BodyError(
    `Invalid type for '${param}': expected ${expected}, but got ${
      typeName(value)
    } instead.`,
    param,
    "invalid_type",
  );
}

function missing(param: string): never {
  throw new BodyError(
    `Missing required parameter: '${param}'.`,
    param,
    "missing_required_parameter",
  );
}

function optionalBoolean(body: Json, key: string, param = key): boolean {
  const value = body[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean") wrongType(param, "a boolean", value);
  return value;
}

function optionalPositiveInt(
  body: Json,
  key: string,
  min = 1,
): number | null {
  const value = body[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "number") wrongType(key, "an integer", value);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new BodyError(
      `Invalid '${key}': expected a whole number of at least ${min}, but got ${value}.`,
      key,
      "invalid_value",
    );
  }
  return value;
}

function maxOf(...values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
}

function emptyInput(): TokenInput {
  return { messages: [], tools: [], texts: [], extraTokens: 0 };
}

function stringify(value: unknown): string {
  return JSON.stringify(value) ?? "";
}

/** Flattens message content (a string or content parts) into text, counting images apart. */
function contentText(content: unknown, input: TokenInput): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return content == null ? "" : stringify(content);
  const pieces: string[] = [];
  for (const part of content) {
    if (typeof part === "string") {
      pieces.push(part);
      continue;
    }
    if (!isObject(part)) continue;
    if (typeof part.text === "string") pieces.push(part.text);
    else if (typeof part.refusal === "string") pieces.push(part.refusal);
    else if (part.type === "image_url" || part.type === "input_image") {
      const detail = isObject(part.image_url)
        ? part.image_url.detail
        : part.detail;
      input.extraTokens += detail === "low"
        ? IMAGE_LOW_DETAIL_TOKENS
        : IMAGE_PART_TOKENS;
    } else {
      // Audio, files and unknown parts: their JSON is an upper bound we can afford.
      pieces.push(stringify(part));
    }
  }
  return pieces.join("");
}

function toolFromFunction(fn: Json): ToolInput | null {
  if (typeof fn.name !== "string") return null;
  return {
    name: fn.name,
    description: typeof fn.description === "string"
      ? fn.description
      : undefined,
    parameters: fn.parameters,
  };
}

/** Chat `tools` / legacy `functions`, or Responses `tools` (flat function shape). */
function readTools(body: Json, input: TokenInput): void {
  for (const key of ["tools", "functions"]) {
    const list = body[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) wrongType(key, "an array", list);
    for (const item of list) {
      if (!isObject(item)) wrongType(`${key}[]`, "an object", item);
      const fn = isObject(item.function)
        ? item.function
        : item.type === "function" || key === "functions"
        ? item
        : null;
      const tool = fn ? toolFromFunction(fn) : null;
      if (tool) input.tools.push(tool);
      else input.texts.push(stringify(item));
    }
  }
}

/** Structured-output schemas are rendered into the prompt too. */
function readFormats(body: Json, input: TokenInput): void {
  if (isObject(body.response_format) && body.response_format.type !== "text") {
    input.texts.push(stringify(body.response_format));
  }
  if (
    isObject(body.text) && isObject(body.text.format) &&
    body.text.format.type !== "text"
  ) {
    input.texts.push(stringify(body.text.format));
  }
}

function readChatMessages(body: Json, input: TokenInput): void {
  const messages = body.messages;
  if (messages === undefined || messages === null) missing("messages");
  if (!Array.isArray(messages)) wrongType("messages", "an array", messages);
  if (messages.length === 0) {
    throw new BodyError(
      "Invalid 'messages': empty array. Expected an array with at least one message.",
      "messages",
      "empty_array",
    );
  }
  messages.forEach((message, i) => {
    if (!isObject(message)) wrongType(`messages[${i}]`, "an object", message);
    if (typeof message.role !== "string") {
      if (message.role === undefined) missing(`messages[${i}].role`);
      wrongType(`messages[${i}].role`, "a string", message.role);
    }
    const text: string[] = [contentText(message.content, input)];
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        if (isObject(call) && isObject(call.function)) {
          text.push(
            String(call.function.name ?? ""),
            String(call.function.arguments ?? ""),
          );
        }
      }
    }
    if (isObject(message.function_call)) {
      text.push(
        String(message.function_call.name ?? ""),
        String(message.function_call.arguments ?? ""),
      );
    }
    const entry: MessageInput = { role: message.role, content: text.join("") };
    if (typeof message.name === "string") entry.name = message.name;
    input.messages.push(entry);
  });
}

/** A prompt or embedding input: a string, strings, a token array or token arrays. */
function readTextOrTokens(
  value: unknown,
  param: string,
  input: TokenInput,
): number {
  const expected = "a string, an array of strings or an array of token arrays";
  if (typeof value === "string") {
    input.texts.push(value);
    return 1;
  }
  if (!Array.isArray(value)) wrongType(param, expected, value);
  if (value.length === 0) {
    throw new BodyError(
      `Invalid '${param}': empty array. Expected at least one item.`,
      param,
      "empty_array",
    );
  }
  if (value.every((v) => typeof v === "number")) {
    input.extraTokens += value.length;
    return 1;
  }
  for (const item of value) {
    if (typeof item === "string") input.texts.push(item);
    else if (Array.isArray(item) && item.every((v) => typeof v === "number")) {
      input.extraTokens += item.length;
    } else wrongType(param, expected, value);
  }
  return value.length;
}

function readResponsesInput(body: Json, input: TokenInput): void {
  if (typeof body.instructions === "string") {
    input.messages.push({ role: "developer", content: body.instructions });
  } else if (body.instructions !== undefined && body.instructions !== null) {
    wrongType("instructions", "a string", body.instructions);
  }
  const value = body.input;
  if (value === undefined || value === null) return;
  if (typeof value === "string") {
    input.messages.push({ role: "user", content: value });
    return;
  }
  if (!Array.isArray(value)) wrongType("input", "a string or an array", value);
  for (const item of value) {
    if (!isObject(item)) {
      input.texts.push(typeof item === "string" ? item : stringify(item));
      continue;
    }
    if (
      typeof item.role === "string" &&
      (item.type === undefined || item.type === "message")
    ) {
      input.messages.push({
        role: item.role,
        content: contentText(item.content, input),
      });
    } else if (item.type === "function_call") {
      input.texts.push(String(item.name ?? ""), String(item.arguments ?? ""));
    } else if (item.type === "function_call_output") {
      input.texts.push(
        typeof item.output === "string" ? item.output : stringify(item.output),
      );
    } else if (item.type === "reasoning") {
      // Encrypted reasoning is billed as input but opaque: its summaries are the visible part.
      input.texts.push(contentText(item.summary, input));
    } else {
      input.texts.push(stringify(item));
    }
  }
}

function parseObject(raw: string): Json {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new BodyError(
      "The request body is not valid JSON. Send a JSON object with 'Content-Type: application/json'.",
      null,
      "invalid_json",
    );
  }
  if (!isObject(body)) {
    throw new BodyError(
      `The request body must be a JSON object, but it is ${typeName(body)}.`,
      null,
      "invalid_type",
    );
  }
  return body;
}

function parseOrThrow(endpoint: Endpoint, raw: string): ParsedRequest {
  const body = parseObject(raw);
  if (body.model === undefined || body.model === null) missing("model");
  if (typeof body.model !== "string") {
    wrongType("model", "a string", body.model);
  }
  if (body.model.trim() === "") {
    throw new BodyError(
      "Invalid 'model': it is empty. Name the model to call, e.g. 'gpt-4.1-mini'.",
      "model",
      "invalid_value",
    );
  }
  const stream = endpoint === "embeddings"
    ? false
    : optionalBoolean(body, "stream");
  let clientAskedUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObject(body.stream_options)) {
      wrongType("stream_options", "an object", body.stream_options);
    }
    clientAskedUsage = optionalBoolean(
      body.stream_options,
      "include_usage",
      "stream_options.include_usage",
    );
  }
  const input = emptyInput();
  let maxOutputTokens: number | null = null;
  let outputs = 1;
  switch (endpoint) {
    case "chat.completions": {
      readChatMessages(body, input);
      readTools(body, input);
      readFormats(body, input);
      outputs = optionalPositiveInt(body, "n") ?? 1;
      const perChoice = maxOf(
        optionalPositiveInt(body, "max_tokens"),
        optionalPositiveInt(body, "max_completion_tokens"),
      );
      maxOutputTokens = perChoice === null ? null : perChoice * outputs;
      break;
    }
    case "completions": {
      if (body.prompt === undefined || body.prompt === null) missing("prompt");
      const prompts = readTextOrTokens(body.prompt, "prompt", input);
      if (typeof body.suffix === "string") input.texts.push(body.suffix);
      const n = optionalPositiveInt(body, "n") ?? 1;
      const bestOf = optionalPositiveInt(body, "best_of") ?? 1;
      outputs = prompts * Math.max(n, bestOf);
      const perChoice = optionalPositiveInt(body, "max_tokens") ??
        LEGACY_COMPLETIONS_DEFAULT_MAX_TOKENS;
      maxOutputTokens = perChoice * outputs;
      break;
    }
    case "embeddings": {
      if (body.input === undefined || body.input === null) missing("input");
      readTextOrTokens(body.input, "input", input);
      maxOutputTokens = 0;
      break;
    }
    case "responses": {
      readResponsesInput(body, input);
      readTools(body, input);
      readFormats(body, input);
      maxOutputTokens = optionalPositiveInt(body, "max_output_tokens");
      break;
    }
  }
  const hiddenContext = endpoint === "responses" &&
    ((typeof body.previous_response_id === "string" &&
      body.previous_response_id !== "") ||
      (body.conversation !== undefined && body.conversation !== null));
  return {
    endpoint,
    model: body.model,
    stream,
    clientAskedUsage,
    maxOutputTokens,
    outputs,
    tokenInput: input,
    hiddenContext,
    body,
    raw,
  };
}

/**
 * Parses and validates a body for an endpoint.
 *
 * @example
 * ```ts
 * const parsed = parseRequestBody("chat.completions", await req.text());
 * if (!parsed.ok) return invalidRequest(parsed.error.message, parsed.error);
 * ```
 */
export function parseRequestBody(endpoint: Endpoint, raw: string): ParseResult {
  try {
    return { ok: true, request: parseOrThrow(endpoint, raw) };
  } catch (error) {
    if (error instanceof BodyError) {
      return {
        ok: false,
        error: { message: error.message, param: error.param, code: error.code },
      };
    }
    throw error;
  }
}

/**
 * The output tokens to reserve: the caller's bound, or `defaultPerOutput`
 * for each output when the caller set none.
 */
export function outputReservation(
  request: ParsedRequest,
  defaultPerOutput: number,
): number {
  return request.maxOutputTokens ?? defaultPerOutput * request.outputs;
}

/**
 * The body to forward. A streamed chat or legacy completion whose client
 * did not ask for usage gets `stream_options.include_usage: true` (other
 * stream_options kept), so that the proxy learns the real usage; the
 * resulting usage-only chunk must then be removed from what the client sees
 * (`injectedUsage`). Responses streams carry usage in `response.completed`
 * and are never changed. Otherwise the raw text is forwarded byte for byte.
 */
export function forwardBody(request: ParsedRequest): ForwardBody {
  const injectable = request.endpoint === "chat.completions" ||
    request.endpoint === "completions";
  if (!request.stream || !injectable || request.clientAskedUsage) {
    return { body: request.raw, injectedUsage: false };
  }
  const options = isObject(request.body.stream_options)
    ? request.body.stream_options
    : {};
  const body = {
    ...request.body,
    stream_options: { ...options, include_usage: true },
  };
  return { body: JSON.stringify(body), injectedUsage: true };
}
