/**
 * Input-token estimates for admission, before a call reaches the provider.
 *
 * Two methods (figures from bench/token_estimate_bench.ts on a 2-core EPYC):
 * - `tokenizer`: npm gpt-tokenizer with the model's encoding (o200k_base for
 *   gpt-4o, gpt-4.1, gpt-5, o-series and newer; cl100k_base for gpt-4,
 *   gpt-3.5 and the v3 embeddings), plus the per-message and per-tool
 *   overhead OpenAI adds (as published in the OpenAI cookbook "How to count
 *   tokens with tiktoken", which matches the API's prompt_tokens exactly on
 *   its examples). Costs about 0.55 ms per 1,000 tokens of fresh text.
 * - `fast`: a single pass over the characters (ASCII at one token per
 *   FAST_ASCII_CHARS_PER_TOKEN characters, other characters at one token
 *   each) times a safety factor; about 8 times faster, and above the real
 *   count on every sample of the bench's corpus (+6% to +104%, mean +15%
 *   for JSON, +47% for prose, +57% for code, +62% for other languages).
 *
 * `auto` (the default) uses the tokenizer up to AUTO_TOKENIZER_MAX_CHARS
 * characters and the fast method above, so that a long prompt never blocks
 * the event loop for more than about a millisecond. Settlement replaces every
 * estimate with the provider's reported usage.
 *
 * @module
 */

import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";
import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base";

/** The BPE encodings we count with. */
export type TokenEncodingName = "o200k_base" | "cl100k_base";

/** How a count was obtained. */
export type EstimateMethod = "tokenizer" | "fast";

/** One chat message (or Responses message item), its content flattened to text. */
export interface MessageInput {
  role: string;
  name?: string;
  content: string;
}

/** One function tool as the caller declared it. */
export interface ToolInput {
  name: string;
  description?: string;
  /** The JSON schema of the parameters, as sent. */
  parameters?: unknown;
}

/** Everything in a request that the provider will count as input. */
export interface TokenInput {
  /** Messages, counted with OpenAI's per-message overhead. */
  messages: MessageInput[];
  /** Function tools, counted with OpenAI's per-tool overhead. */
  tools: ToolInput[];
  /** Plain texts without overhead: legacy prompts, embedding inputs, other tool kinds. */
  texts: string[];
  /** Tokens known without counting: token-array prompts, image parts. */
  extraTokens: number;
}

/** Options of an estimate. */
export interface EstimateOptions {
  /** `auto` by default: tokenizer for short input, fast above `autoMaxChars`. */
  method?: EstimateMethod | "auto";
  /** The character count above which `auto` switches to the fast method. */
  autoMaxChars?: number;
}

/** An estimate and the method that produced it. */
export interface TokenEstimate {
  tokens: number;
  method: EstimateMethod;
}

/** Above this many characters, `auto` uses the fast estimate (see the bench for why). */
export const AUTO_TOKENIZER_MAX_CHARS = 8_000;
/** ASCII characters per token assumed by the fast estimate. */
export const FAST_ASCII_CHARS_PER_TOKEN = 3;
/** Non-ASCII UTF-16 code units per token assumed by the fast estimate. */
const FAST_OTHER_UNITS_PER_TOKEN = 1;
/** The fast estimate's margin, so that it stays an upper bound on ordinary text. */
const FAST_SAFETY_FACTOR = 1.1;

// Overheads from the OpenAI cookbook, checked there against the API's prompt_tokens.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING_TOKENS = 3;
const TOOL_OVERHEAD: Record<
  TokenEncodingName,
  {
    funcInit: number;
    propInit: number;
    propKey: number;
    enumInit: number;
    enumItem: number;
    funcEnd: number;
  }
> = {
  o200k_base: {
    funcInit: 7,
    propInit: 3,
    propKey: 3,
    enumInit: -3,
    enumItem: 3,
    funcEnd: 12,
  },
  cl100k_base: {
    funcInit: 10,
    propInit: 3,
    propKey: 3,
    enumInit: -3,
    enumItem: 3,
    funcEnd: 12,
  },
};

// User text may contain "<|endoftext|>"; it must count as text, never throw.
const TEXT_ONLY = { disallowedSpecial: new Set<string>() };

const CL100K_MODEL =
  /^(gpt-4(?!o|\.\d)|gpt-3\.5|text-embedding-(3|ada)|davinci|babbage|text-davinci)/;

/**
 * The encoding a model tokenizes with: cl100k_base for gpt-4 / gpt-4-turbo,
 * gpt-3.5 and the embeddings models; o200k_base for everything newer
 * (gpt-4o, gpt-4.1, gpt-5, o1/o3/o4) and for unknown models.
 */
export function encodingForModel(model: string): TokenEncodingName {
  const name = model.toLowerCase().replace(/^ft:/, "");
  return CL100K_MODEL.test(name) ? "cl100k_base" : "o200k_base";
}

/** Exact BPE token count of a text in an encoding. */
export function countTextTokens(
  text: string,
  encoding: TokenEncodingName,
): number {
  if (text.length === 0) return 0;
  return encoding === "cl100k_base"
    ? countCl100k(text, TEXT_ONLY)
    : countO200k(text, TEXT_ONLY);
}

/**
 * The fast estimate of a text's tokens: one pass over the UTF-16 code units,
 * no allocation. An upper bound on ordinary prose and code; its measured
 * error is printed by bench/token_estimate_bench.ts.
 */
export function fastTokenCount(text: string): number {
  return Math.ceil(fastTokenAmount(text));
}

// A regex scan for the (usually few) non-ASCII units is about seven times
// faster in V8 than a charCodeAt loop over every character.
const NON_ASCII = /[\u0080-\uffff]/g;

/** The fast estimate before rounding, so that many small pieces are rounded once. */
function fastTokenAmount(text: string): number {
  if (text.length === 0) return 0;
  let other = 0;
  NON_ASCII.lastIndex = 0;
  while (NON_ASCII.exec(text) !== null) other++;
  const ascii = text.length - other;
  return (ascii / FAST_ASCII_CHARS_PER_TOKEN +
    other / FAST_OTHER_UNITS_PER_TOKEN) * FAST_SAFETY_FACTOR;
}

/** Characters of text in an input, to choose the method by. */
function inputChars(input: TokenInput): number {
  let chars = 0;
  for (const m of input.messages) {
    chars += m.role.length + m.content.length + (m.name?.length ?? 0);
  }
  for (const t of input.tools) {
    chars += t.name.length + (t.description?.length ?? 0) +
      (t.parameters === undefined
        ? 0
        : JSON.stringify(t.parameters)?.length ?? 0);
  }
  for (const t of input.texts) chars += t.length;
  return chars;
}

function chooseMethod(chars: number, options: EstimateOptions): EstimateMethod {
  const method = options.method ?? "auto";
  if (method !== "auto") return method;
  return chars <= (options.autoMaxChars ?? AUTO_TOKENIZER_MAX_CHARS)
    ? "tokenizer"
    : "fast";
}

type Counter = (text: string) => number;

function stripFinalDot(text: string): string {
  return text.endsWith(".") ? text.slice(0, -1) : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Tool definitions as OpenAI renders them into the prompt (cookbook formula). */
function countTools(
  tools: ToolInput[],
  encoding: TokenEncodingName,
  count: Counter,
): number {
  if (tools.length === 0) return 0;
  const k = TOOL_OVERHEAD[encoding];
  let total = 0;
  for (const tool of tools) {
    total += k.funcInit;
    total += count(`${tool.name}:${stripFinalDot(tool.description ?? "")}`);
    const properties = isObject(tool.parameters) &&
        isObject(tool.parameters.properties)
      ? tool.parameters.properties
      : undefined;
    if (!properties || Object.keys(properties).length === 0) continue;
    total += k.propInit;
    for (const [key, schema] of Object.entries(properties)) {
      total += k.propKey;
      if (!isObject(schema)) {
        total += count(key);
        continue;
      }
      const type = typeof schema.type === "string" ? schema.type : null;
      const description = typeof schema.description === "string"
        ? schema.description
        : "";
      if (Array.isArray(schema.enum)) {
        total += k.enumInit;
        for (const item of schema.enum) {
          total += k.enumItem + count(String(item));
        }
      }
      if (type === null || type === "object" || type === "array") {
        // Nested schemas are rendered in a way the cookbook does not cover:
        // count their JSON, which is larger than the rendering.
        total += count(`${key}:${JSON.stringify(schema)}`);
      } else {
        total += count(`${key}:${type}:${stripFinalDot(description)}`);
      }
    }
  }
  return total + k.funcEnd;
}

function countInput(
  input: TokenInput,
  encoding: TokenEncodingName,
  count: Counter,
): number {
  let total = input.extraTokens;
  for (const m of input.messages) {
    total += TOKENS_PER_MESSAGE + count(m.role) + count(m.content);
    if (m.name !== undefined) total += TOKENS_PER_NAME + count(m.name);
  }
  if (input.messages.length > 0) total += REPLY_PRIMING_TOKENS;
  total += countTools(input.tools, encoding, count);
  for (const t of input.texts) total += count(t);
  return total;
}

/**
 * Estimates the input tokens of a request for a model.
 *
 * @example
 * ```ts
 * const est = estimateInputTokens(parsed.tokenInput, "gpt-4.1-mini");
 * const reserve = est.tokens + (parsed.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS);
 * ```
 */
export function estimateInputTokens(
  input: TokenInput,
  model: string,
  options: EstimateOptions = {},
): TokenEstimate {
  const method = chooseMethod(inputChars(input), options);
  const encoding = encodingForModel(model);
  const count: Counter = method === "tokenizer"
    ? (text) => countTextTokens(text, encoding)
    : fastTokenAmount;
  return { tokens: Math.ceil(countInput(input, encoding, count)), method };
}

/**
 * Estimates the tokens of a plain text for a model, e.g. the output a cut
 * stream delivered before it ended without usage.
 */
export function estimateTextTokens(
  text: string,
  model: string,
  options: EstimateOptions = {},
): TokenEstimate {
  const method = chooseMethod(text.length, options);
  const tokens = method === "tokenizer"
    ? countTextTokens(text, encodingForModel(model))
    : fastTokenCount(text);
  return { tokens, method };
}
