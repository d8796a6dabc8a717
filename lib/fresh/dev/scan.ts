/**
 * Finds the route and island files of a project, as manifest keys.
 *
 * @module
 */

import { join } from "node:path";

const SOURCE = /\.(tsx|ts|jsx|js)$/;
const TEST = /(_test|\.test)\.(tsx|ts|jsx|js)$/;

/** Route and island files, sorted, as `./routes/...` and `./islands/...` keys. */
export interface ProjectFiles {
  routes: string[];
  islands: string[];
}

/** Lists `routes/` and `islands/` under `root` (missing folders are empty). */
export async function scanProject(root: string): Promise<ProjectFiles> {
  return {
    routes: await listSources(root, "routes"),
    islands: await listSources(root, "islands"),
  };
}

async function listSources(root: string, folder: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(join(root, relative)));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (SOURCE.test(entry.name) && !TEST.test(entry.name)) {
        found.push(`./${path}`);
      }
    }
  };
  await walk(folder);
  return found.sort();
}

/** Every file under `folder` (relative paths with `/`), dotfiles skipped. */
export async function listFiles(
  root: string,
  folder: string,
): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(
        Deno.readDir(join(root, folder, relative)),
      );
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) found.push(path);
    }
  };
  await walk("");
  return found.sort();
}
