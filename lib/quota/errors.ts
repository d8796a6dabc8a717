/**
 * The error the quota domain throws for bad input: a limit, a window, a scope
 * or an amount that cannot be accepted. Its message is a full sentence meant
 * for the user; routes turn it into a 400 in OpenAI's error shape.
 *
 * @module
 */

/** Why an input was refused, for the `code` of an OpenAI-shaped error. */
export type QuotaInputCode =
  | "invalid_limit"
  | "invalid_window"
  | "invalid_scope"
  | "invalid_usage"
  | "file_limit";

/** Bad input to the quota domain; nothing was changed. */
export class QuotaInputError extends Error {
  /** A machine-readable reason. */
  readonly code: QuotaInputCode;
  /** The offending field, when there is one (for the error's `param`). */
  readonly param: string | null;

  constructor(
    message: string,
    code: QuotaInputCode,
    param: string | null = null,
  ) {
    super(message);
    this.name = "QuotaInputError";
    this.code = code;
    this.param = param;
  }
}
