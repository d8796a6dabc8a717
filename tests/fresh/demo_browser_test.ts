import assert from "node:assert/strict";
import { type RunningServer, startServer } from "../../main.ts";
import { launchBrowser } from "../support/browser.ts";

Deno.test({
  name:
    "demo page - the counter island reacts to clicks and adopts the server's HTML",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server: RunningServer = await startServer({ port: 0 });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });

      // Hold back the island runtime until the server's DOM nodes are tagged,
      // so we can tell adopted nodes from rebuilt ones afterwards.
      const { promise: tagged, resolve: releaseRuntime } = Promise
        .withResolvers<void>();
      await page.route("**/fresh-runtime.js", async (route) => {
        await tagged;
        await route.continue();
      });

      // Module scripts hold back DOMContentLoaded, so wait for the parsed
      // markup itself (the boot script sits after it).
      await page.goto(`${server.url}/demo?start=5`, { waitUntil: "commit" });
      await page.waitForSelector("script[type=module]", { state: "attached" });
      await page.evaluate(() => {
        const mark = (selector: string) => {
          const node = document.querySelector(selector);
          if (node === null) throw new Error(`${selector} is missing`);
          (node as unknown as Record<string, boolean>).__fromServer = true;
        };
        mark(".counter");
        mark("[data-testid=count]");
        mark("#server-child");
        mark("#server-child time");
      });
      assert.equal(
        await page.locator("button", { hasText: "+1" }).isDisabled(),
        true,
        "before hydration the server rendered the buttons disabled",
      );
      releaseRuntime();

      await page.waitForSelector("html[data-islands=ready]");
      const plus = page.locator("button", { hasText: "+1" });
      await plus.click();
      await plus.click();
      await page.locator("button", { hasText: "−1" }).click();
      await page.waitForFunction(() =>
        document.querySelector("[data-testid=count]")?.textContent === "6"
      );

      const adopted = await page.evaluate(() => {
        const marked = (selector: string) =>
          (document.querySelector(selector) as unknown as
            | Record<string, boolean>
            | null)?.__fromServer === true;
        return {
          section: marked(".counter"),
          output: marked("[data-testid=count]"),
          child: marked("#server-child"),
          time: marked("#server-child time"),
          childText: document.querySelector("#server-child")?.textContent ?? "",
          sections: document.querySelectorAll(".counter").length,
        };
      });
      assert.deepEqual(
        {
          section: adopted.section,
          output: adopted.output,
          child: adopted.child,
          time: adopted.time,
          sections: adopted.sections,
        },
        { section: true, output: true, child: true, time: true, sections: 1 },
      );
      assert.match(adopted.childText, /rendered on the server/);
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
