/**
 * Configuration from the environment (and `.env`, which `deno task start` and
 * `deno task dev` load with `--env-file`). Every setting is checked at start;
 * a missing or malformed one stops the start with one sentence that names it.
 *
 * @module
 */

import { z } from "zod";
import { parseLimitInput } from "./quota/limits.ts";
import type { LimitDefinition } from "./quota/types.ts";

/** A price per million tokens, as configured. */
export interface ConfiguredPrice {
  input: number;
  cachedInput: number;
  output: number;
}

/** The validated configuration of one instance. */
export interface Config {
  port: number;
  hostname: string;
  /** Folder of the Deno KV database, or `:memory:`. */
  dataDir: string;
  adminToken: string | null;
  publicDashboard: boolean;
  limitsFile: string | null;
  fileLimits: LimitDefinition[];
  warnAt: number;
  timeZone: string;
  corsOrigins: string[];
  redisUrl: string | null;
  /** Keep admitting (and counting locally) while Redis is unreachable. */
  redisFailOpen: boolean;
  upstreamBaseUrl: string;
  upstreamApiKey: string | null;
  /** Callers send their own provider key; they are told apart by its hash. */
  passthrough: boolean;
  /** Output tokens reserved when a call sets no max_tokens. */
  defaultMaxOutputTokens: number;
  upstreamTimeoutMs: number;
  /** Price overrides per model, per million tokens. */
  priceOverrides: Record<string, ConfiguredPrice>;
  /** Price for models the table does not know; null refuses them. */
  fallbackPrice: ConfiguredPrice | null;
  retentionDays: number;
  maxBodyBytes: number;
  /** The API's origin, for a dashboard served from another origin. */
  apiOrigin: string | null;
  /** Behind a TLS-terminating proxy: read the scheme from X-Forwarded-Proto. */
  trustProxy: boolean;
}

/** A setting that is missing or malformed: the message names it and says what to do. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** Reads an environment variable, or undefined when unset or blank. */
type Env = (name: string) => string | undefined;

const DENO_ENV: Env = (name) => {
  const value = Deno.env.get(name);
  return value === undefined || value.trim() === "" ? undefined : value.trim();
};

function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(
      `${name} must be a whole number from ${min} to ${max}, but it is "${raw}".`,
    );
  }
  return Number(raw);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env(name);
  if (raw === undefined) return fallback;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, but it is "${raw}".`);
}

function origin(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      `${name} must list origins like https://app.example.com, but "${raw}" is not a URL.`,
    );
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.origin !== raw.replace(/\/$/, "") || url.pathname !== "/"
  ) {
    throw new ConfigError(
      `${name} must list bare origins (scheme, host and port, no path), like https://app.example.com, but "${raw}" is not one.`,
    );
  }
  return url.origin;
}

function timeZone(name: string, raw: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: raw });
    return raw;
  } catch {
    throw new ConfigError(
      `${name} must be an IANA time zone such as UTC or Europe/Berlin, but "${raw}" is not one.`,
    );
  }
}

function price(name: string, raw: string): ConfiguredPrice {
  const parts = raw.split(",").map((part) => part.trim());
  const numbers = parts.map(Number);
  if (
    parts.length !== 3 || parts.some((part) => part === "") ||
    numbers.some((n) => !Number.isFinite(n) || n < 0)
  ) {
    throw new ConfigError(
      `${name} must be three prices in dollars per million tokens, "input,cached input,output" (for example "2.5,1.25,10"), but it is "${raw}".`,
    );
  }
  return { input: numbers[0], cachedInput: numbers[1], output: numbers[2] };
}

const PRICE_SCHEMA = z.strictObject({
  input: z.number().finite().nonnegative(),
  cachedInput: z.number().finite().nonnegative().optional(),
  output: z.number().finite().nonnegative(),
});

const LIMITS_FILE_SCHEMA = z.strictObject({
  limits: z.array(z.unknown()).max(10_000),
  prices: z.record(z.string(), PRICE_SCHEMA).optional(),
});

/**
 * Checks a limits document (the file's JSON) and returns its limits and price
 * overrides, or throws a ConfigError naming the first problem.
 */
function parseLimitsDocument(
  document: unknown,
  where: string,
): { limits: LimitDefinition[]; prices: Record<string, ConfiguredPrice> } {
  const parsed = LIMITS_FILE_SCHEMA.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join(".") || "(top level)";
    throw new ConfigError(
      `${where} is not a valid limits file: at ${path}, ${issue.message}. See the README for its format.`,
    );
  }
  const seen = new Set<string>();
  const limits = parsed.data.limits.map((raw, index) => {
    let definition: LimitDefinition;
    try {
      definition = parseLimitInput(raw, "file");
    } catch (error) {
      throw new ConfigError(
        `${where} limits[${index}]: ${(error as Error).message}`,
      );
    }
    if (seen.has(definition.id)) {
      throw new ConfigError(
        `${where} limits[${index}] repeats the limit "${definition.id}"; give each limit its own scope, metric and window, or its own id.`,
      );
    }
    seen.add(definition.id);
    return definition;
  });
  const prices: Record<string, ConfiguredPrice> = {};
  for (const [model, p] of Object.entries(parsed.data.prices ?? {})) {
    prices[model] = {
      input: p.input,
      cachedInput: p.cachedInput ?? p.input,
      output: p.output,
    };
  }
  return { limits, prices };
}

/**
 * Reads and checks the configuration.
 *
 * @param env where settings come from; the process environment by default
 * @param readTextFile how the limits file is read (tests pass their own)
 * @throws {ConfigError} with one sentence naming the setting that is wrong
 */
export function loadConfig(
  env: Env = DENO_ENV,
  readTextFile: (path: string) => string = Deno.readTextFileSync,
): Config {
  const port = integer(env, "PORT", 8000, 0, 65535);
  const hostname = env("HOST") ?? "127.0.0.1";
  const adminToken = env("QUOTA_ADMIN_TOKEN") ?? null;
  if (adminToken !== null && adminToken.length < 16) {
    throw new ConfigError(
      "QUOTA_ADMIN_TOKEN must be at least 16 characters long; generate one with `openssl rand -hex 24`.",
    );
  }
  const publicDashboard = boolean(env, "QUOTA_PUBLIC_DASHBOARD", false);
  if (!LOOPBACK_HOSTS.has(hostname) && !adminToken && !publicDashboard) {
    throw new ConfigError(
      `HOST is ${hostname}, which is reachable beyond this machine, but neither QUOTA_ADMIN_TOKEN nor QUOTA_PUBLIC_DASHBOARD=true is set; set an admin token (or make the dashboard public on purpose) before listening there.`,
    );
  }

  const warnRaw = env("QUOTA_WARN_AT");
  const warnAt = warnRaw === undefined ? 0.8 : Number(warnRaw);
  if (!(warnAt > 0 && warnAt <= 1)) {
    throw new ConfigError(
      `QUOTA_WARN_AT must be a fraction above 0 and at most 1 (such as 0.8), but it is "${warnRaw}".`,
    );
  }
  const zone = timeZone("QUOTA_TIME_ZONE", env("QUOTA_TIME_ZONE") ?? "UTC");

  const corsOrigins = (env("CORS_ORIGINS") ?? "").split(",")
    .map((part) => part.trim()).filter((part) => part !== "")
    .map((part) => origin("CORS_ORIGINS", part));

  const upstreamRaw = env("UPSTREAM_BASE_URL") ?? "https://api.openai.com/v1";
  let upstreamBaseUrl: string;
  try {
    const url = new URL(upstreamRaw);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error();
    }
    upstreamBaseUrl = url.href.replace(/\/+$/, "");
  } catch {
    throw new ConfigError(
      `UPSTREAM_BASE_URL must be an http(s) URL such as https://api.openai.com/v1, but it is "${upstreamRaw}".`,
    );
  }

  const redisUrl = env("QUOTA_REDIS_URL") ?? null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(
      `QUOTA_REDIS_URL must start with redis:// or rediss://, but it is "${redisUrl}".`,
    );
  }

  const apiOriginRaw = env("QUOTA_API_ORIGIN");
  const apiOrigin = apiOriginRaw === undefined
    ? null
    : origin("QUOTA_API_ORIGIN", apiOriginRaw);

  const limitsFile = env("QUOTA_LIMITS_FILE") ?? null;
  let fileLimits: LimitDefinition[] = [];
  let filePrices: Record<string, ConfiguredPrice> = {};
  if (limitsFile !== null) {
    let text: string;
    try {
      text = readTextFile(limitsFile);
    } catch (error) {
      throw new ConfigError(
        `QUOTA_LIMITS_FILE names ${limitsFile}, which cannot be read (${
          (error as Error).name
        }); check the path and the --allow-read permission.`,
      );
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(
        `QUOTA_LIMITS_FILE (${limitsFile}) is not valid JSON: ${
          (error as Error).message
        }.`,
      );
    }
    const parsed = parseLimitsDocument(
      document,
      `QUOTA_LIMITS_FILE (${limitsFile})`,
    );
    fileLimits = parsed.limits;
    filePrices = parsed.prices;
  }

  const fallbackRaw = env("QUOTA_FALLBACK_PRICE");
  return {
    port,
    hostname,
    dataDir: env("QUOTA_DATA_DIR") ?? "./data",
    adminToken,
    publicDashboard,
    limitsFile,
    fileLimits,
    warnAt,
    timeZone: zone,
    corsOrigins,
    redisUrl,
    redisFailOpen: boolean(env, "QUOTA_REDIS_FAIL_OPEN", false),
    upstreamBaseUrl,
    upstreamApiKey: env("UPSTREAM_API_KEY") ?? env("OPENAI_API_KEY") ?? null,
    passthrough: boolean(env, "QUOTA_PASSTHROUGH", false),
    defaultMaxOutputTokens: integer(
      env,
      "QUOTA_DEFAULT_MAX_OUTPUT_TOKENS",
      4096,
      1,
      10_000_000,
    ),
    upstreamTimeoutMs: integer(
      env,
      "QUOTA_UPSTREAM_TIMEOUT_MS",
      600_000,
      100,
      3_600_000,
    ),
    priceOverrides: filePrices,
    fallbackPrice: fallbackRaw === undefined
      ? null
      : price("QUOTA_FALLBACK_PRICE", fallbackRaw),
    retentionDays: integer(env, "QUOTA_RETENTION_DAYS", 30, 1, 3650),
    maxBodyBytes: integer(
      env,
      "QUOTA_MAX_BODY_BYTES",
      4 * 1024 * 1024,
      1024,
      256 * 1024 * 1024,
    ),
    apiOrigin,
    trustProxy: boolean(env, "QUOTA_TRUST_PROXY", false),
  };
}

/** Builds a config for tests and embedding: defaults plus the given settings. */
export function configFrom(settings: Record<string, string>): Config {
  return loadConfig(
    (name) => settings[name] === "" ? undefined : settings[name],
    Deno.readTextFileSync,
  );
}
