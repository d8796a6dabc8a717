/**
 * The OpenAPI 3.1 document of the REST API and the proxy, served at
 * /api/openapi.json. A test keeps its paths in step with the routes.
 *
 * @module
 */

const ERROR = { $ref: "#/components/responses/Error" };
const JSON_BODY = (schema: Record<string, unknown>) => ({
  required: true,
  content: { "application/json": { schema } },
});
const OK = (description: string, schema: Record<string, unknown> = {}) => ({
  description,
  content: { "application/json": { schema } },
});
const ADMIN = [{ admin: [] }];
const ADMIN_OR_KEY = [{ admin: [] }, { virtualKey: [] }];
const COUNT = { type: "integer", minimum: 0, maximum: 100_000_000 };

const LIMIT_INPUT = {
  type: "object",
  additionalProperties: false,
  required: ["scope", "metric", "window", "limit"],
  properties: {
    id: { type: "string" },
    scope: {
      type: "string",
      description:
        "gateway, key:<name>, model:<model> or key:<name>/model:<model>",
    },
    metric: {
      enum: ["requests", "input_tokens", "output_tokens", "tokens", "cost_usd"],
    },
    window: {
      type: "string",
      description:
        "A rolling duration (30s, 1m, 1h, 2h30m, 1d) or a calendar window (day, month).",
    },
    limit: { type: "number", exclusiveMinimum: 0 },
    timeZone: { type: "string", description: "IANA zone for day and month." },
  },
};

/** The document. */
export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "Quota Monitor",
    version: "1.0.0",
    description:
      "A live quota monitor and enforcing gateway for OpenAI-compatible APIs. Errors use OpenAI's shape {error: {message, type, code, param}}.",
  },
  components: {
    securitySchemes: {
      admin: {
        type: "http",
        scheme: "bearer",
        description: "QUOTA_ADMIN_TOKEN, or the login cookie.",
      },
      virtualKey: {
        type: "http",
        scheme: "bearer",
        description: "A virtual key's secret: its own usage only.",
      },
    },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["message", "type", "code", "param"],
            properties: {
              message: { type: "string" },
              type: { type: "string" },
              code: { type: ["string", "null"] },
              param: { type: ["string", "null"] },
            },
          },
        },
      },
      LimitStatus: {
        type: "object",
        properties: {
          id: { type: "string" },
          scope: { type: "string" },
          metric: { type: "string" },
          window: { type: "string" },
          semantics: { type: "string" },
          limit: { type: "number" },
          used: { type: "number" },
          reserved: { type: "number" },
          remaining: { type: "number" },
          percent: { type: "number" },
          state: { enum: ["ok", "warning", "exceeded"] },
          resetAt: { type: ["string", "null"], format: "date-time" },
        },
      },
      QuotaStatus: {
        type: "object",
        properties: {
          generatedAt: { type: "string", format: "date-time" },
          warnAt: { type: "number" },
          scopes: {
            type: "array",
            items: {
              type: "object",
              properties: {
                scope: { type: "string" },
                limits: {
                  type: "array",
                  items: { $ref: "#/components/schemas/LimitStatus" },
                },
              },
            },
          },
          upstream: { type: "array", items: { type: "object" } },
          recent: { type: "array", items: { type: "object" } },
        },
      },
      Limit: {
        ...LIMIT_INPUT,
        properties: {
          ...LIMIT_INPUT.properties,
          source: { enum: ["file", "api"] },
        },
      },
      Key: {
        type: "object",
        properties: {
          name: { type: "string" },
          prefix: { type: "string" },
          createdAt: { type: "string", format: "date-time" },
          revokedAt: { type: ["string", "null"], format: "date-time" },
          kind: { enum: ["virtual", "passthrough"] },
        },
      },
    },
    responses: {
      Error: {
        description: "An error in OpenAI's shape.",
        content: {
          "application/json": {
            schema: { $ref: "#/components/schemas/Error" },
          },
        },
      },
    },
  },
  paths: {
    "/healthz": {
      get: {
        summary: "Liveness: 200 while the store answers.",
        responses: { "200": OK("Healthy."), "503": ERROR },
      },
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics.",
        security: ADMIN,
        responses: {
          "200": {
            description: "Text format 0.0.4.",
            content: { "text/plain": { schema: { type: "string" } } },
          },
        },
      },
    },
    "/api/openapi.json": {
      get: {
        summary: "This document.",
        responses: { "200": OK("The OpenAPI document.") },
      },
    },
    "/api/quota/status": {
      get: {
        summary: "Status of every scope and limit, or of one key.",
        security: ADMIN_OR_KEY,
        parameters: [{ name: "key", in: "query", schema: { type: "string" } }],
        responses: {
          "200": OK("The snapshot.", {
            $ref: "#/components/schemas/QuotaStatus",
          }),
          "401": ERROR,
          "403": ERROR,
        },
      },
    },
    "/api/quota/usage": {
      get: {
        summary: "Per-minute usage and the most recent calls.",
        security: ADMIN_OR_KEY,
        parameters: [
          { name: "from", in: "query", schema: { type: "string" } },
          { name: "to", in: "query", schema: { type: "string" } },
          { name: "key", in: "query", schema: { type: "string" } },
        ],
        responses: { "200": OK("History."), "400": ERROR, "401": ERROR },
      },
      post: {
        summary:
          "Report usage of a call made directly to the provider (idempotent by id); with reservation_id it settles a check.",
        security: ADMIN_OR_KEY,
        requestBody: JSON_BODY({
          type: "object",
          additionalProperties: false,
          required: ["id", "model"],
          properties: {
            id: { type: "string", maxLength: 200 },
            key: { type: "string" },
            model: { type: "string" },
            reservation_id: { type: "string" },
            input_tokens: COUNT,
            cached_tokens: COUNT,
            output_tokens: COUNT,
            reasoning_tokens: COUNT,
            usage: {
              type: "object",
              description: "The provider's own usage object.",
            },
            status: { type: "integer" },
            latency_ms: { type: "integer" },
          },
        }),
        responses: {
          "201": OK("Recorded."),
          "200": OK("A duplicate: counted before, nothing added."),
          "400": ERROR,
          "401": ERROR,
          "403": ERROR,
          "404": ERROR,
          "413": ERROR,
          "415": ERROR,
        },
      },
    },
    "/api/quota/check": {
      post: {
        summary: "Admission: hold the estimate of a call against its limits.",
        security: ADMIN_OR_KEY,
        requestBody: JSON_BODY({
          type: "object",
          additionalProperties: false,
          required: ["model"],
          properties: {
            key: { type: "string" },
            model: { type: "string" },
            reservation_id: { type: "string" },
            input_tokens: COUNT,
            max_output_tokens: COUNT,
          },
        }),
        responses: {
          "200": OK("Admitted; the estimate is held."),
          "400": ERROR,
          "401": ERROR,
          "404": ERROR,
          "429": ERROR,
        },
      },
    },
    "/api/quota/release": {
      post: {
        summary: "Free a reservation whose call never happened.",
        security: ADMIN_OR_KEY,
        requestBody: JSON_BODY({
          type: "object",
          additionalProperties: false,
          required: ["reservation_id"],
          properties: {
            key: {
              type: "string",
              description: "Required with the admin token.",
            },
            reservation_id: { type: "string" },
          },
        }),
        responses: { "200": OK("Released (or gone already)."), "400": ERROR },
      },
    },
    "/api/quota/ws": {
      get: {
        summary:
          "WebSocket: a snapshot first, then coalesced updates with sequence numbers, and heartbeats.",
        responses: {
          "101": { description: "Switching protocols." },
          "400": ERROR,
          "401": ERROR,
          "403": ERROR,
        },
      },
    },
    "/api/keys": {
      get: {
        summary: "List virtual keys.",
        security: ADMIN,
        responses: { "200": OK("Keys."), "401": ERROR },
      },
      post: {
        summary: "Create a virtual key; its secret is answered once.",
        security: ADMIN,
        requestBody: JSON_BODY({
          type: "object",
          additionalProperties: false,
          required: ["name"],
          properties: { name: { type: "string" } },
        }),
        responses: { "201": OK("Created."), "400": ERROR, "409": ERROR },
      },
    },
    "/api/keys/{name}": {
      parameters: [{
        name: "name",
        in: "path",
        required: true,
        schema: { type: "string" },
      }],
      get: {
        summary: "One key.",
        security: ADMIN,
        responses: { "200": OK("The key."), "404": ERROR },
      },
      patch: {
        summary: "Rotate the key's secret.",
        security: ADMIN,
        requestBody: JSON_BODY({
          type: "object",
          additionalProperties: false,
          required: ["rotate"],
          properties: { rotate: { const: true } },
        }),
        responses: { "200": OK("The new secret, once."), "404": ERROR },
      },
      delete: {
        summary: "Revoke the key.",
        security: ADMIN,
        responses: { "200": OK("Revoked."), "404": ERROR },
      },
    },
    "/api/limits": {
      get: {
        summary: "List limits (file and API).",
        security: ADMIN,
        responses: { "200": OK("Limits.") },
      },
      post: {
        summary: "Add a limit.",
        security: ADMIN,
        requestBody: JSON_BODY(LIMIT_INPUT),
        responses: {
          "201": OK("Created.", { $ref: "#/components/schemas/Limit" }),
          "400": ERROR,
          "409": ERROR,
        },
      },
    },
    "/api/limits/{id}": {
      parameters: [{
        name: "id",
        in: "path",
        required: true,
        schema: { type: "string" },
      }],
      get: {
        summary: "One limit.",
        security: ADMIN,
        responses: { "200": OK("The limit."), "404": ERROR },
      },
      patch: {
        summary: "Change a limit made through the API.",
        security: ADMIN,
        requestBody: JSON_BODY({ type: "object" }),
        responses: { "200": OK("Changed."), "400": ERROR, "409": ERROR },
      },
      delete: {
        summary: "Remove a limit made through the API.",
        security: ADMIN,
        responses: { "200": OK("Removed."), "404": ERROR, "409": ERROR },
      },
    },
    "/v1/{path}": {
      parameters: [{
        name: "path",
        in: "path",
        required: true,
        schema: { type: "string" },
      }],
      post: {
        summary:
          "The OpenAI-compatible proxy: chat/completions, completions, embeddings and responses are admitted, forwarded and accounted; other paths pass through and count as requests.",
        security: [{ virtualKey: [] }],
        responses: {
          "200": { description: "The provider's answer (JSON or SSE)." },
          "401": ERROR,
          "429": ERROR,
          "502": ERROR,
          "504": ERROR,
        },
      },
      get: {
        summary: "Passed through (models, files, ...), counted as a request.",
        security: [{ virtualKey: [] }],
        responses: { "200": { description: "The provider's answer." } },
      },
    },
  },
} as const;
