/**
 * Serves the files of a build: immutable for a year when the URL carries the
 * build id or the content hash, otherwise with an ETag that answers 304.
 *
 * Files come from an in-memory table, so nothing outside the build can be
 * reached; paths that look like traversal attempts are refused before lookup.
 *
 * @module
 */

import { ASSET_QUERY } from "./asset.ts";
import type { Build, BuildFile } from "./build.ts";

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "public, max-age=0, must-revalidate";

/**
 * Finds the file for a pathname, or undefined. Refuses dot segments, encoded
 * dots and slashes, backslashes and double encodings, whatever the URL parser
 * left of them.
 */
export function findFile(
  build: Build,
  pathname: string,
): BuildFile | undefined {
  let path = pathname;
  if (path.includes("%")) {
    // Encoded separators, NUL and encoded "%" (double encoding) never name a file.
    if (ENCODED_SUSPECTS.test(path)) return undefined;
    try {
      path = decodeURIComponent(path);
    } catch {
      return undefined;
    }
  }
  if (path.includes("..") || path.includes("\\")) return undefined;
  return build.files.get(path);
}

const ENCODED_SUSPECTS = /%(2f|5c|00|25)/i;

/** A response for `file`, honouring If-None-Match and HEAD. */
export function serveFile(
  req: Request,
  url: URL,
  file: BuildFile,
): Response {
  const immutable = file.immutable ||
    url.searchParams.get(ASSET_QUERY) === file.hash;
  const headers = new Headers({
    "content-type": file.contentType,
    "cache-control": immutable ? IMMUTABLE : REVALIDATE,
    etag: file.etag,
  });
  if (matchesEtag(req.headers.get("if-none-match"), file.etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-length", String(file.body.byteLength));
  const body = req.method === "HEAD" ? null : file.body;
  return new Response(body as BodyInit | null, { status: 200, headers });
}

/** Weak comparison of an If-None-Match list against our ETag. */
function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  for (const candidate of header.split(",")) {
    const tag = candidate.trim();
    if (tag === "*" || tag === etag || tag === `W/${etag}`) return true;
  }
  return false;
}
