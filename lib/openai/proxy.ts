/**
 * The enforcing OpenAI-compatible proxy. For chat completions, completions,
 * embeddings and responses it reserves the most a call can cost before
 * anything is forwarded, forwards with the provider's key, streams the answer
 * through untouched (but for the usage chunk it asked for itself), and
 * settles the real usage before the response ends. Other /v1 paths pass
 * through and count as requests. Upstream errors, resets and timeouts
 * release the reservation.
 *
 * @module
 */

import type { KeyRegistry } from "../key_registry.ts";
import type { VirtualKey } from "../store/store.ts";
import type { Metrics } from "../metrics.ts";
import { readBody } from "../http/read_json.ts";
import { bearerToken, hashSecret } from "../http/secrets.ts";
import { domainError } from "../http/json.ts";
import type { Admission, QuotaEngine } from "../quota/engine.ts";
import { estimateCall, requirePrice } from "../quota/billing.ts";
import type { CallEstimate } from "../quota/billing.ts";
import type { PriceLookup, PriceTable } from "../quota/pricing.ts";
import { costNanos } from "../quota/pricing.ts";
import {
  estimateInputTokens,
  estimateTextTokens,
} from "../quota/token_estimate.ts";
import type { UsageCounts, UsageRecord } from "../quota/types.ts";
import {
  authenticationError,
  gatewayError,
  invalidRequest,
  openAIError,
} from "./errors.ts";
import { formatRateLimitHeaders } from "./rate_limit_headers.ts";
import { refusalResponse } from "./refusal_response.ts";
import {
  endpointForPath,
  forwardBody,
  outputReservation,
  parseRequestBody,
} from "./request_body.ts";
import { createStreamUsageTap } from "./stream_usage.ts";
import type { StreamUsageResult } from "./stream_usage.ts";
import { classifyUpstreamError } from "./upstream_error.ts";
import type { UpstreamQuotaTracker } from "./upstream_quota.ts";
import { normalizeUsage } from "./usage.ts";

/** What the proxy needs from the instance. */
export interface ProxyDeps {
  upstreamBaseUrl: string;
  upstreamApiKey: string | null;
  passthrough: boolean;
  defaultMaxOutputTokens: number;
  upstreamTimeoutMs: number;
  maxBodyBytes: number;
  engine: QuotaEngine;
  keys: KeyRegistry;
  prices: PriceTable;
  upstream: UpstreamQuotaTracker;
  metrics: Metrics;
  clock: () => number;
}

/** The model name recorded for calls that name none (models, files, ...). */
export const NO_MODEL = "-";

// Headers that describe one hop, or that we set ourselves.
const DROP_REQUEST_HEADERS = new Set([
  "authorization",
  "api-key",
  "host",
  "connection",
  "keep-alive",
  "content-length",
  "transfer-encoding",
  "accept-encoding",
  "cookie",
  "origin",
  "referer",
  "upgrade",
  "te",
  "trailer",
  "proxy-authorization",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);
// Our provider account's names and numbers are not the caller's business;
// our own x-ratelimit-* replace the provider's.
const DROP_RESPONSE_HEADERS = new Set([
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "set-cookie",
  "openai-organization",
  "openai-project",
  "x-ratelimit-limit-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-requests",
  "x-ratelimit-reset-tokens",
  "access-control-allow-origin",
  "access-control-expose-headers",
  "vary",
]);

const ACCOUNT_HEADERS = new Set(["openai-organization", "openai-project"]);

function forwardHeaders(
  req: Request,
  providerKey: string | null,
  passthrough: boolean,
): Headers {
  const headers = new Headers();
  for (const [name, value] of req.headers) {
    if (DROP_REQUEST_HEADERS.has(name)) continue;
    if (!passthrough && ACCOUNT_HEADERS.has(name)) continue;
    headers.set(name, value);
  }
  if (providerKey) headers.set("authorization", `Bearer ${providerKey}`);
  return headers;
}

function responseHeaders(
  upstream: Headers,
  ours: Record<string, string>,
): Headers {
  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (!DROP_RESPONSE_HEADERS.has(name) && !name.startsWith("x-ratelimit-")) {
      headers.set(name, value);
    }
  }
  for (const [name, value] of Object.entries(ours)) headers.set(name, value);
  return headers;
}

function maskKey(token: string): string {
  return token.length <= 12
    ? "*".repeat(token.length)
    : `${token.slice(0, 8)}${"*".repeat(8)}${token.slice(-4)}`;
}

/** Who a proxied call is for, and with which provider key it goes out. */
interface Caller {
  key: string;
  providerKey: string | null;
  providerKeyId: string;
  /** A passthrough caller, registered once the provider accepts its key. */
  passthrough?: VirtualKey;
}

/** Creates the proxy's request handler for paths under /v1. */
export function createProxy(
  deps: ProxyDeps,
): (req: Request, url: URL) => Promise<Response> {
  const { engine, metrics, clock } = deps;
  let gatewayKeyId: Promise<string> | null = null;
  const providerKeyId = (key: string | null) => {
    if (key === null) return Promise.resolve("none");
    gatewayKeyId ??= hashSecret(key).then((h) => h.slice(0, 12));
    return gatewayKeyId;
  };

  const count = (endpoint: string, outcome: string) =>
    metrics.inc(
      "quota_proxy_requests_total",
      "Proxied calls by endpoint and outcome.",
      { endpoint, outcome },
    );

  async function identify(req: Request): Promise<Caller | Response> {
    const token = bearerToken(req);
    if (token === null) {
      return authenticationError(
        "You didn't provide an API key. Send your virtual key as Authorization: Bearer <key> (the OpenAI SDK does this with apiKey).",
      );
    }
    if (deps.passthrough) {
      const caller = await deps.keys.passthroughCaller(token);
      return {
        key: caller.name,
        providerKey: token,
        providerKeyId: caller.hash.slice(0, 12),
        passthrough: caller,
      };
    }
    const key = await deps.keys.resolve(token);
    if (!key) {
      return authenticationError(
        `Incorrect API key provided: ${
          maskKey(token)
        }. Use a virtual key made with POST /api/keys; a revoked key no longer works.`,
      );
    }
    if (deps.upstreamApiKey === null) {
      return openAIError(
        503,
        "The gateway has no provider key; set UPSTREAM_API_KEY (or OPENAI_API_KEY) and restart, or run it with QUOTA_PASSTHROUGH=true.",
        { type: "server_error", code: "upstream_key_missing" },
      );
    }
    return {
      key: key.name,
      providerKey: deps.upstreamApiKey,
      providerKeyId: await providerKeyId(deps.upstreamApiKey),
    };
  }

  /** Fetches upstream with the caller's abort and the gateway's timeout. */
  async function forward(
    req: Request,
    url: URL,
    caller: Caller,
    body: BodyInit | null,
  ): Promise<
    | { ok: true; response: Response; done: () => void }
    | { ok: false; response: Response }
  > {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException("timeout", "TimeoutError")),
      deps.upstreamTimeoutMs,
    );
    const onAbort = () => controller.abort(req.signal.reason);
    req.signal.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      req.signal.removeEventListener("abort", onAbort);
    };
    const target = deps.upstreamBaseUrl + url.pathname.slice(3) + url.search;
    try {
      const response = await fetch(target, {
        method: req.method,
        headers: forwardHeaders(req, caller.providerKey, deps.passthrough),
        body,
        signal: controller.signal,
        redirect: "manual",
      });
      return { ok: true, response, done };
    } catch {
      done();
      if (req.signal.aborted) {
        // The caller is gone; nobody reads this answer.
        return { ok: false, response: new Response(null, { status: 499 }) };
      }
      if (controller.signal.aborted) {
        return {
          ok: false,
          response: gatewayError(
            504,
            `The provider did not answer within ${deps.upstreamTimeoutMs} ms; nothing was counted. Try again, or raise QUOTA_UPSTREAM_TIMEOUT_MS.`,
          ),
        };
      }
      return {
        ok: false,
        response: gatewayError(
          502,
          `The provider at ${
            new URL(deps.upstreamBaseUrl).host
          } could not be reached; nothing was counted. Check UPSTREAM_BASE_URL and try again.`,
        ),
      };
    }
  }

  /** Passes an upstream error through and releases the hold. */
  async function upstreamFailed(
    upstream: Response,
    caller: Caller,
    reservationId: string,
    endpoint: string,
  ): Promise<Response> {
    const text = await upstream.text().catch(() => "");
    const info = classifyUpstreamError(
      upstream.status,
      text,
      upstream.headers,
      clock(),
    );
    if (upstream.status === 429) {
      await deps.upstream.rejected(
        caller.providerKeyId,
        upstream.headers,
        info,
      );
    }
    await engine.release(reservationId);
    count(endpoint, `upstream_${upstream.status}`);
    const headers = responseHeaders(upstream.headers, {});
    // Credit exhausted upstream will not pass on retry: tell the SDK so.
    if (info.kind === "insufficient_quota") {
      headers.set("x-should-retry", "false");
    }
    return new Response(text, { status: upstream.status, headers });
  }

  function recordOf(
    caller: Caller,
    model: string,
    endpoint: string,
    counts: UsageCounts,
    price: PriceLookup | null,
    started: number,
    estimated: boolean,
    status = 200,
  ): UsageRecord {
    const record: UsageRecord = {
      id: `req_${crypto.randomUUID().replaceAll("-", "")}`,
      at: clock(),
      key: caller.key,
      model,
      endpoint,
      status,
      ...counts,
      costNanos: price ? costNanos(price.price, counts) : 0,
      latencyMs: Math.round(performance.now() - started),
      estimated,
    };
    if (price?.fallback) record.fallbackPrice = true;
    return record;
  }

  /** Reads the provider's headers; registers a passthrough caller it accepted. */
  async function observe(caller: Caller, upstream: Response): Promise<void> {
    deps.upstream.observe(caller.providerKeyId, upstream.headers);
    if (
      caller.passthrough && upstream.status !== 401 && upstream.status !== 403
    ) {
      // Registering the caller only serves the status; a failure here must
      // not fail a call the provider has already answered.
      await deps.keys.rememberPassthrough(caller.passthrough).catch((error) =>
        console.warn(
          `Could not register a passthrough caller: ${
            (error as Error).message
          }`,
        )
      );
    }
  }

  /**
   * Admits a call, or answers why not: a 429 over a limit, a 400 when the
   * call itself cannot be counted (an impossible bound, a malformed model).
   */
  async function admit(
    caller: Caller,
    model: string,
    estimate: CallEstimate,
    endpoint: string,
  ): Promise<Extract<Admission, { ok: true }> | Response> {
    let admission: Admission;
    try {
      admission = await engine.admit({ key: caller.key, model, estimate });
    } catch (error) {
      count(endpoint, "invalid");
      return domainError(error);
    }
    if (admission.ok) return admission;
    count(endpoint, "refused");
    return refusalResponse(admission, clock());
  }

  /** A path we do not account for by tokens: forwarded as is, one request. */
  async function passThrough(
    req: Request,
    url: URL,
    caller: Caller,
    started: number,
  ): Promise<Response> {
    let body: Uint8Array | null = null;
    if (req.method !== "GET" && req.method !== "HEAD") {
      const read = await readBody(req, deps.maxBodyBytes);
      if (!read.ok) return read.response;
      body = read.bytes;
    }
    const admission = await admit(
      caller,
      NO_MODEL,
      { inputTokens: 0, outputTokens: 0, costNanos: 0 },
      "other",
    );
    if (admission instanceof Response) return admission;
    const sent = await forward(req, url, caller, body as BodyInit | null);
    if (!sent.ok) {
      await engine.release(admission.reservationId);
      count("other", "gateway_error");
      return sent.response;
    }
    await observe(caller, sent.response);
    const zero = {
      inputTokens: 0,
      cachedTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    };
    await engine.settle(
      admission.reservationId,
      recordOf(
        caller,
        NO_MODEL,
        "other",
        zero,
        null,
        started,
        false,
        sent.response.status,
      ),
    );
    count("other", String(sent.response.status));
    const answer = sent.response.body;
    const headers = responseHeaders(
      sent.response.headers,
      formatRateLimitHeaders(admission.limits, clock()),
    );
    if (!answer) sent.done();
    return new Response(
      answer?.pipeThrough(
        new TransformStream({ flush: () => sent.done() }),
      ) ?? null,
      { status: sent.response.status, headers },
    );
  }

  /**
   * What a call counts as when the provider sent no usage: the input
   * estimate made at admission and the text actually delivered, flagged.
   */
  function estimatedCounts(
    inputTokens: number,
    deliveredText: string,
    model: string,
  ): UsageCounts {
    return {
      inputTokens,
      cachedTokens: 0,
      outputTokens: estimateTextTokens(deliveredText, model).tokens,
      reasoningTokens: 0,
    };
  }

  return async function proxy(req: Request, url: URL): Promise<Response> {
    const started = performance.now();
    const caller = await identify(req);
    if (caller instanceof Response) {
      await req.body?.cancel().catch(() => {});
      return caller;
    }
    const endpoint = req.method === "POST"
      ? endpointForPath(url.pathname)
      : null;
    if (endpoint === null) return passThrough(req, url, caller, started);

    const body = await readBody(req, deps.maxBodyBytes);
    if (!body.ok) return body.response;
    const parsed = parseRequestBody(
      endpoint,
      new TextDecoder().decode(body.bytes),
    );
    if (!parsed.ok) {
      count(endpoint, "invalid");
      return invalidRequest(parsed.error.message, {
        param: parsed.error.param,
        code: parsed.error.code,
      });
    }
    const request = parsed.request;
    let price: PriceLookup;
    try {
      price = requirePrice(deps.prices, request.model);
    } catch (error) {
      count(endpoint, "unknown_model");
      return domainError(error);
    }
    const input = estimateInputTokens(request.tokenInput, request.model);
    const estimate = estimateCall(
      price,
      input.tokens,
      outputReservation(request, deps.defaultMaxOutputTokens),
    );
    const admission = await admit(caller, request.model, estimate, endpoint);
    if (admission instanceof Response) return admission;
    const reservationId = admission.reservationId;
    // Settling is idempotent per reservation, and still counts once when the
    // lease ran out mid-call and a sweep took the hold back.
    const settleUsage = (counts: UsageCounts, estimated: boolean) =>
      engine.settle(
        reservationId,
        recordOf(
          caller,
          request.model,
          endpoint,
          counts,
          price,
          started,
          estimated,
        ),
      );
    const outgoing = forwardBody(request);
    const sent = await forward(req, url, caller, outgoing.body);
    if (!sent.ok) {
      await engine.release(reservationId);
      count(endpoint, "gateway_error");
      return sent.response;
    }
    const upstream = sent.response;
    await observe(caller, upstream);
    if (!upstream.ok) {
      sent.done();
      return upstreamFailed(upstream, caller, reservationId, endpoint);
    }
    const ours = formatRateLimitHeaders(admission.limits, clock());

    const isStream = (upstream.headers.get("content-type") ?? "").startsWith(
      "text/event-stream",
    );
    if (!isStream || !upstream.body) {
      let text: string;
      try {
        text = await upstream.text();
      } catch {
        sent.done();
        await engine.release(reservationId);
        count(endpoint, "gateway_error");
        return gatewayError(
          502,
          "The provider's answer broke off before it was complete; nothing was counted. Try again.",
        );
      }
      sent.done();
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        await engine.release(reservationId);
        count(endpoint, "gateway_error");
        return gatewayError(
          502,
          `The provider answered ${upstream.status} with something that is not JSON (${
            upstream.headers.get("content-type") ?? "no content type"
          }); nothing was counted. Check UPSTREAM_BASE_URL: it must point at an OpenAI-compatible API.`,
        );
      }
      const usage = normalizeUsage(
        (answer as { usage?: unknown } | null)?.usage,
      );
      await settleUsage(
        usage.ok
          ? usage.usage
          : estimatedCounts(input.tokens, text, request.model),
        !usage.ok,
      );
      count(endpoint, "ok");
      return new Response(text, {
        status: upstream.status,
        headers: responseHeaders(upstream.headers, ours),
      });
    }

    const tap = createStreamUsageTap({
      dropInjectedUsage: outgoing.injectedUsage,
    });
    let settling: Promise<void> | null = null;
    const settleOnce = (result: StreamUsageResult) => {
      settling ??= (async () => {
        sent.done();
        await settleUsage(
          result.usage ??
            estimatedCounts(input.tokens, result.deliveredText, request.model),
          result.usage === null,
        );
        count(endpoint, result.ending === "cancelled" ? "aborted" : "ok");
      })();
      return settling;
    };
    // A client that goes away cancels the pipe; the tap then ends as
    // "cancelled" and the call is settled from what was delivered.
    tap.done.then((result) => {
      if (result.ending === "cancelled") {
        settleOnce(result).catch((error) =>
          console.error(
            `Could not record an aborted stream: ${(error as Error).message}`,
          )
        );
      }
    });
    // The stream ends for the client only after its usage is durable.
    const finisher = new TransformStream<Uint8Array, Uint8Array>({
      flush: () => settleOnce(tap.result()),
    });
    return new Response(
      upstream.body.pipeThrough(tap.stream).pipeThrough(finisher),
      {
        status: upstream.status,
        headers: responseHeaders(upstream.headers, ours),
      },
    );
  };
}
