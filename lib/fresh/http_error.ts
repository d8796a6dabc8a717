/**
 * An error that carries an HTTP status. Thrown from a handler it becomes the
 * `_404` page (404) or the `_500` page with that status.
 *
 * @module
 */

/**
 * ```ts
 * if (!item) throw new HttpError(404, `No item named ${ctx.params.name}.`);
 * ```
 */
export class HttpError extends Error {
  constructor(readonly status: number, message?: string) {
    super(message ?? `HTTP ${status}`);
    this.name = "HttpError";
  }
}
