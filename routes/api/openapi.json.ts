import { json } from "../../lib/http/json.ts";
import { OPENAPI_DOCUMENT } from "../../lib/openapi.ts";

/** GET /api/openapi.json: the OpenAPI document of the REST API and the proxy. */
export const handler = {
  GET(): Response {
    return json(OPENAPI_DOCUMENT);
  },
};
