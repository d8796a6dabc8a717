/**
 * Launches Debian's Chromium through playwright-core for browser tests. Never
 * downloads a browser: the executable is /usr/bin/chromium, or CHROMIUM_PATH.
 *
 * @module
 */

import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Flags for a quiet, headless, throwaway Chromium. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A running Chromium with one context; `close()` also removes its profile. */
export interface TestBrowser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** The Chromium executable to use, or throws a sentence saying how to get one. */
export function chromiumPath(): string {
  const path = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch {
    // Reported below.
  }
  throw new Error(
    `Chromium was not found at ${path}. Install it with \`apt-get install chromium\`, or set CHROMIUM_PATH to a Chromium executable.`,
  );
}

/**
 * Launches Chromium with a fresh temporary profile.
 *
 * ```ts
 * const browser = await launchBrowser();
 * try {
 *   const page = await browser.newPage();
 *   await page.goto(url);
 * } finally {
 *   await browser.close();
 * }
 * ```
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const executablePath = chromiumPath();
  const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
  let context: BrowserContext;
  try {
    // launchPersistentContext is how playwright passes --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  } catch (error) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
