/**
 * Starts the real Quota Monitor in-process on a random loopback port, with
 * an in-memory Deno KV store unless told otherwise, for integration tests.
 *
 * @module
 */

import { configFrom } from "../../lib/config.ts";
import { startMonitor } from "../../main.ts";
import type { ServiceOptions, Services } from "../../lib/services.ts";

/** A running test instance. */
export interface TestApp {
  url: string;
  services: Services;
  /** fetch against the instance, with the admin token when one is set. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** The admin token test instances use. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** Starts an instance with the given settings (environment names). */
export async function startTestApp(
  settings: Record<string, string> = {},
  options: ServiceOptions = {},
): Promise<TestApp> {
  const config = configFrom({
    PORT: "0",
    QUOTA_DATA_DIR: ":memory:",
    QUOTA_ADMIN_TOKEN: ADMIN_TOKEN,
    ...settings,
  });
  const server = await startMonitor(config, { services: options });
  const services = server.services;
  return {
    url: server.url,
    services,
    admin(path, init = {}) {
      const headers = new Headers(init.headers);
      if (config.adminToken && !headers.has("authorization")) {
        headers.set("authorization", `Bearer ${config.adminToken}`);
      }
      if (init.body !== undefined && !headers.has("content-type")) {
        headers.set("content-type", "application/json");
      }
      return fetch(`${server.url}${path}`, { ...init, headers });
    },
    close: () => server.shutdown(),
  };
}

/** Creates a virtual key through the admin API and returns its secret. */
export async function createKey(app: TestApp, name: string): Promise<string> {
  const response = await app.admin("/api/keys", {
    method: "POST",
    body: JSON.stringify({ name }),
  });
  if (response.status !== 201) {
    throw new Error(
      `creating key ${name}: ${response.status} ${await response.text()}`,
    );
  }
  return (await response.json()).secret;
}

/** Adds a limit through the admin API. */
export async function addLimit(
  app: TestApp,
  limit: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await app.admin("/api/limits", {
    method: "POST",
    body: JSON.stringify(limit),
  });
  if (response.status !== 201) {
    throw new Error(
      `adding a limit: ${response.status} ${await response.text()}`,
    );
  }
  return await response.json();
}
