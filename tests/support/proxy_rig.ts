/**
 * The proxy's test rig: a loopback OpenAI upstream, the real server pointed
 * at it with the provider key, a virtual key (or, in passthrough mode, the
 * provider key itself) and any limits; everything is stopped afterwards.
 *
 * @module
 */

import { addLimit, createKey, startTestApp } from "./app.ts";
import type { TestApp } from "./app.ts";
import { startFakeUpstream } from "./fake_upstream.ts";
import type { FakeUpstream } from "./fake_upstream.ts";

/** The provider key the loopback upstream accepts. */
export const PROVIDER_KEY = "sk-provider-test-0123456789abcdef";

/** A running rig. */
export interface ProxyRig {
  app: TestApp;
  upstream: FakeUpstream;
  /** What callers send as their bearer: team-a's virtual key, or the provider key in passthrough mode. */
  secret: string;
}

/** Runs `fn` against a fresh rig. */
export async function withProxyRig(
  fn: (rig: ProxyRig) => Promise<void>,
  settings: Record<string, string> = {},
  limits: Record<string, unknown>[] = [],
): Promise<void> {
  const upstream = await startFakeUpstream({ apiKey: PROVIDER_KEY });
  const app = await startTestApp({
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_API_KEY: PROVIDER_KEY,
    ...settings,
  });
  try {
    const secret = settings.QUOTA_PASSTHROUGH === "true"
      ? PROVIDER_KEY
      : await createKey(app, "team-a");
    for (const limit of limits) await addLimit(app, limit);
    await fn({ app, upstream, secret });
  } finally {
    await app.close();
    await upstream.close();
  }
}
