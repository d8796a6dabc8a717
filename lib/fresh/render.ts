/**
 * Renders a page tree to an HTML document: runs preact-render-to-string with
 * island marking on, then appends the boot script that brings the islands to
 * life. A page without islands gets no script at all.
 *
 * @module
 */

import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import type { Build } from "./build.ts";
import "./islands.ts";
import { RenderState, withRenderState } from "./render_state.ts";
import { formatPath, serialize, SerializeError } from "./shared/serialize.ts";

/** Options of one page render. */
export interface RenderHtmlOptions {
  build: Build;
  /** CSP nonce for the inline scripts. */
  nonce?: string;
  /** Extra inline script (the dev live-reload client). */
  devScript?: string;
}

/** The rendered document and what it contained. */
export interface RenderedHtml {
  html: string;
  /** Island ids, in document order. */
  islands: string[];
}

/**
 * Renders `tree` (the page inside its layouts and `_app`) to a complete HTML
 * string.
 */
export function renderHtml(
  tree: VNode,
  options: RenderHtmlOptions,
): RenderedHtml {
  const state = new RenderState(options.build);
  let body = withRenderState(state, () => renderToString(tree));
  let scripts = "";
  const nonce = options.nonce === undefined
    ? ""
    : ` nonce="${escapeAttribute(options.nonce)}"`;
  if (state.islands.length > 0) {
    scripts += `<script type="module"${nonce}>${
      bootScript(state, options.build)
    }</script>`;
  }
  if (options.devScript) {
    scripts += `<script${nonce}>${options.devScript}</script>`;
  }
  if (scripts !== "") {
    const end = body.lastIndexOf("</body>");
    body = end === -1
      ? body + scripts
      : body.slice(0, end) + scripts + body.slice(end);
  }
  const html = body.startsWith("<html") ? `<!DOCTYPE html>${body}` : body;
  return { html, islands: state.islands.map((use) => use.island.id) };
}

function bootScript(state: RenderState, build: Build): string {
  let props: string;
  try {
    props = serialize(state.islands.map((use) => use.props));
  } catch (error) {
    if (!(error instanceof SerializeError)) throw error;
    const [index, prop, ...rest] = error.path;
    const island = state.islands[index as number].island.id;
    const where = rest.length === 0
      ? ""
      : ` (at ${formatPath([String(prop), ...rest])})`;
    throw new Error(
      `Island "${island}" received ${error.what} in prop "${
        String(prop)
      }"${where}, which cannot be sent to the browser. Pass plain data (JSON values, Date, Map, Set, URL, signals) instead.`,
    );
  }
  const imports: string[] = [];
  const aliases = new Map<string, string>();
  const entries: string[] = [];
  for (const { island } of state.islands) {
    let alias = aliases.get(island.chunk);
    if (alias === undefined) {
      const url = build.islands.get(island.chunk);
      if (url === undefined) {
        throw new Error(
          `The build has no chunk for island "${island.chunk}". Run \`deno task build\` (or restart \`deno task dev\`) so that it is bundled.`,
        );
      }
      alias = `$${aliases.size}`;
      aliases.set(island.chunk, alias);
      imports.push(`import * as ${alias} from ${JSON.stringify(url)};`);
    }
    const entry = `${JSON.stringify(island.id)}:${alias}[${
      JSON.stringify(island.exportName)
    }]`;
    if (!entries.includes(entry)) entries.push(entry);
  }
  return `import{boot}from${JSON.stringify(build.runtime)};${
    imports.join("")
  }boot({${entries.join(",")}},${props});`;
}

function escapeAttribute(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
}
