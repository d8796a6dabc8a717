import assert from "node:assert/strict";
import { launchBrowser } from "./support/browser.ts";

const DEV = new URL("../dev.ts", import.meta.url).pathname;
const PROBE = new URL("../static/.dev-test-probe.css", import.meta.url);

/** A port that was free a moment ago: dev restarts must come back on the same one. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  ms: number,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what} did not happen within ${ms} ms`);
}

Deno.test("dev - a change to a watched file rebuilds and reloads the open page", async () => {
  const port = freePort();
  const dev = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", DEV],
    env: { PORT: String(port), HOST: "127.0.0.1", QUOTA_DATA_DIR: ":memory:" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}/demo`;
  const browser = await launchBrowser();
  try {
    await waitFor("the dev server to answer", async () => {
      const response = await fetch(url);
      await response.body?.cancel();
      return response.ok;
    }, 60_000);
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector("html[data-islands='ready']", {
      timeout: 30_000,
    });
    // A mark that only survives as long as this document does.
    await page.evaluate(() => {
      (globalThis as { devTestMark?: number }).devTestMark = 1;
    });

    await Deno.writeTextFile(PROBE, "/* dev test */\n");
    await waitFor("the page to reload itself", async () => {
      const mark = await page.evaluate(() =>
        (globalThis as { devTestMark?: number }).devTestMark
      );
      return mark === undefined;
    }, 60_000);
    // The reloaded page comes from the rebuilt server, islands and all.
    await page.waitForSelector("html[data-islands='ready']", {
      timeout: 30_000,
    });
  } finally {
    await Deno.remove(PROBE).catch(() => {});
    await browser.close();
    try {
      dev.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await dev.status;
  }
});
