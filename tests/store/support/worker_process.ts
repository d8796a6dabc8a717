/**
 * Child processes for the multi-process store tests: spawn a worker script
 * from this folder and read its stdout line by line.
 *
 * @module
 */

/** Spawns `deno run <permissions> support/<script> ...args` with piped stdio. */
export function spawnWorker(
  script: string,
  args: string[],
  permissions: string[] = ["--allow-net", "--allow-env"],
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      "--quiet",
      new URL(`./${script}`, import.meta.url).pathname,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Yields a stream's lines as they come. */
export async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n")) !== -1) {
      yield buffer.slice(0, cut);
      buffer = buffer.slice(cut + 1);
    }
  }
}

/** Sends the line that starts every waiting worker at once. */
export async function go(workers: Deno.ChildProcess[]): Promise<void> {
  const message = new TextEncoder().encode("go\n");
  await Promise.all(workers.map(async (worker) => {
    const writer = worker.stdin.getWriter();
    await writer.write(message);
    await writer.close();
  }));
}
