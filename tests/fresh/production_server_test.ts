import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser } from "../support/browser.ts";

const ROOT = join(import.meta.dirname!, "..", "..");

/** Reads the child's stdout until the listening line; returns the URL. */
async function listeningUrl(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`The server exited before listening. Output:\n${seen}`);
    }
    seen += value;
    const match = /listening on (http:\/\/\S+?)\/?\s/i.exec(seen);
    if (match) {
      // Keep draining so the child never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })();
      return match[1];
    }
  }
}

Deno.test({
  name:
    "production server - runs from another folder with only net, env and its data folder, and its island works",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "dev.ts", "build", "--if-needed"],
      cwd: ROOT,
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));

    const workdir = await Deno.makeTempDir({ prefix: "quota-prod-" });
    const data = join(workdir, "data");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        `--allow-read=${data}`,
        `--allow-write=${data}`,
        join(ROOT, "_fresh", "server.ts"),
      ],
      cwd: workdir,
      env: { PORT: "0", HOST: "127.0.0.1", QUOTA_DATA_DIR: data },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const browser = await launchBrowser();
    try {
      const url = await listeningUrl(child);
      const css = await fetch(`${url}/styles.css`);
      assert.equal(css.status, 200);
      assert.match(await css.text(), /box-sizing/);

      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(`${url}/demo?start=10`);
      await page.waitForSelector("html[data-islands=ready]");
      await page.locator("button", { hasText: "+1" }).click();
      await page.waitForFunction(() =>
        document.querySelector("[data-testid=count]")?.textContent === "11"
      );
      assert.match(
        (await page.locator("#server-child").textContent()) ?? "",
        /rendered on the server/,
      );
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await browser.close();
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(workdir, { recursive: true });
    }
  },
});
