/**
 * The common first half of the REST routes that act for a key (usage
 * reports, admission checks, releases): credentials, a JSON body within the
 * size limit, a strict parse, and the key the call is for.
 *
 * @module
 */

import type { Services } from "../services.ts";
import { identifyCaller, keyToActFor, unauthorized } from "./access.ts";
import { domainError } from "./json.ts";
import { readJson } from "./read_json.ts";

/**
 * Reads a request that acts for a key; answers the 4xx itself (as a
 * Response) when anything is wrong.
 *
 * @param parse a strict parser that throws QuotaInputError on bad input
 * @param action what the caller does, for the messages ("report usage")
 */
export async function readKeyedRequest<T extends { key?: string }>(
  req: Request,
  services: Services,
  parse: (body: unknown) => T,
  action: string,
): Promise<{ key: string; request: T } | Response> {
  const caller = await identifyCaller(req, services);
  if (caller === null || caller.kind === "viewer") return unauthorized();
  const body = await readJson(req, services.config.maxBodyBytes);
  if (!body.ok) return body.response;
  let request: T;
  try {
    request = parse(body.value);
  } catch (error) {
    return domainError(error);
  }
  const key = await keyToActFor(caller, request.key, services, action);
  if (key instanceof Response) return key;
  return { key, request };
}
