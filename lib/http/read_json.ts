/**
 * Reads a JSON request body with a size limit, so that a huge or malformed
 * body gets a clear 4xx before anything else happens.
 *
 * @module
 */

import { openAIError } from "../openai/errors.ts";

/** The outcome of reading a body: the value, or the error response to send. */
export type JsonBody =
  | { ok: true; value: unknown; bytes: Uint8Array }
  | { ok: false; response: Response };

/** Reads at most `maxBytes` of the body; more gives 413 without reading the rest. */
export async function readBody(
  req: Request,
  maxBytes: number,
): Promise<
  { ok: true; bytes: Uint8Array } | { ok: false; response: Response }
> {
  const tooLarge = () => ({
    ok: false as const,
    response: openAIError(
      413,
      `The request body is larger than ${maxBytes} bytes; send a smaller body or raise QUOTA_MAX_BODY_BYTES.`,
      { type: "invalid_request_error", code: "request_too_large" },
    ),
  });
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await req.body?.cancel().catch(() => {});
    return tooLarge();
  }
  if (!req.body) return { ok: true, bytes: new Uint8Array() };
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        return tooLarge();
      }
      chunks.push(value);
    }
  } catch {
    // The client went away mid-body: nobody reads this answer, but it must
    // not be a server error either.
    return {
      ok: false,
      response: openAIError(
        400,
        "The request body ended before it was complete; send it again.",
        { type: "invalid_request_error", code: "incomplete_body" },
      ),
    };
  }
  if (chunks.length === 1) return { ok: true, bytes: chunks[0] };
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, bytes };
}

/**
 * Reads and parses a JSON body. Malformed JSON, a wrong content type or an
 * empty body give a 400 in OpenAI's error shape; a body over the limit 413.
 */
export async function readJson(
  req: Request,
  maxBytes: number,
): Promise<JsonBody> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    await req.body?.cancel().catch(() => {});
    return {
      ok: false,
      response: openAIError(
        415,
        `The request body must be JSON; send it with the header Content-Type: application/json (got "${
          type || "none"
        }").`,
        { type: "invalid_request_error", code: "unsupported_media_type" },
      ),
    };
  }
  const body = await readBody(req, maxBytes);
  if (!body.ok) return body;
  if (body.bytes.byteLength === 0) {
    return {
      ok: false,
      response: openAIError(
        400,
        "The request body is empty; send a JSON object.",
        { type: "invalid_request_error", code: "invalid_json" },
      ),
    };
  }
  try {
    const value = JSON.parse(new TextDecoder().decode(body.bytes));
    return { ok: true, value, bytes: body.bytes };
  } catch (error) {
    return {
      ok: false,
      response: openAIError(
        400,
        `The request body is not valid JSON (${
          (error as Error).message
        }); check the syntax and send it again.`,
        { type: "invalid_request_error", code: "invalid_json" },
      ),
    };
  }
}
