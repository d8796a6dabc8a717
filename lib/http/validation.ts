/**
 * Turns a zod validation failure into a 400 in OpenAI's error shape, naming
 * the field that is wrong, so that SDKs surface a useful BadRequestError.
 *
 * @module
 */

import type { z } from "zod";
import { openAIError } from "../openai/errors.ts";

/** Validates `value` against `schema`: the data, or the 400 to send. */
export function validate<T extends z.ZodType>(
  schema: T,
  value: unknown,
): { ok: true; data: z.infer<T> } | { ok: false; response: Response } {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  const param = issue.path.join(".") || null;
  let message: string;
  if (issue.code === "unrecognized_keys") {
    message = `Unknown field${issue.keys.length > 1 ? "s" : ""} ${
      issue.keys.map((k) => `"${k}"`).join(", ")
    }${param ? ` in ${param}` : ""}; remove ${
      issue.keys.length > 1 ? "them" : "it"
    } (see /api/openapi.json for the accepted fields).`;
  } else {
    message = `Invalid ${param ? `"${param}"` : "request body"}: ${
      issue.message.replace(/\.$/, "")
    }. Fix it and send the request again.`;
  }
  return {
    ok: false,
    response: openAIError(400, message, {
      type: "invalid_request_error",
      code: "invalid_value",
      param,
    }),
  };
}
