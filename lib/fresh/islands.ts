/**
 * Server side of islands: the registry of island components and the Preact
 * hook that marks them in the rendered HTML.
 *
 * Every island vnode gets a boundary component as its type. At render time the
 * boundary decides: inside another island it renders the island as a plain
 * component (its code ships in the parent's chunk); otherwise it records the
 * props for the browser, swaps JSX props for slots rendered here on the server,
 * and wraps the output in `<!--frsh:island:...-->` markers.
 *
 * The hook is installed on the `preact` module that preact-render-to-string
 * imports (one pinned version in deno.json), and chains any previous hook.
 *
 * @module
 */

import {
  type ComponentChildren,
  type ComponentType,
  createContext,
  Fragment,
  h,
  isValidElement,
  options,
  type VNode,
} from "preact";
import { useContext } from "preact/hooks";
import { Signal } from "@preact/signals";
import { currentRender } from "./render_state.ts";
import { SlotRef } from "./shared/serialize.ts";

/** A registered island export. */
export interface IslandInfo {
  /** Marker name: the chunk, plus `.export` for named exports. */
  id: string;
  /** The bundled chunk that holds it, e.g. `Counter`. */
  chunk: string;
  exportName: string;
  component: ComponentType;
}

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

const ISLANDS = new Map<AnyComponent, IslandInfo>();
const BOUNDARIES = new Map<AnyComponent, AnyComponent>();
/** Keys of island vnodes, by props object (a vnode's key is not a prop). */
const KEYS = new WeakMap<object, string>();
const InsideIsland = createContext(false);

/**
 * The chunk name of an island file: its path under `islands/` without
 * extension, `/` replaced by `_` (`./islands/charts/Line.tsx` -> `charts_Line`).
 */
export function islandChunkName(file: string): string {
  return file.replace(/^\.\/islands\//, "").replace(/\.(tsx|ts|jsx|js)$/, "")
    .replace(/[^\w-]/g, "_");
}

/** Registers every function export of every island module in the manifest. */
export function registerIslands(
  islands: Record<string, Record<string, unknown>>,
): IslandInfo[] {
  const registered: IslandInfo[] = [];
  for (const [file, module] of Object.entries(islands)) {
    const chunk = islandChunkName(file);
    // The default export first, so a component exported twice keeps the short id.
    const names = Object.keys(module).sort((a, b) =>
      a === "default" ? -1 : b === "default" ? 1 : a < b ? -1 : 1
    );
    for (const exportName of names) {
      const component = module[exportName];
      if (typeof component !== "function") continue;
      const existing = ISLANDS.get(component as AnyComponent);
      if (existing) {
        registered.push(existing);
        continue;
      }
      const info: IslandInfo = {
        id: exportName === "default" ? chunk : `${chunk}.${exportName}`,
        chunk,
        exportName,
        component: component as AnyComponent,
      };
      ISLANDS.set(info.component, info);
      registered.push(info);
    }
  }
  return registered;
}

/** A comment node for preact-render-to-string. */
function comment(text: string): VNode {
  return h(Fragment, { UNSTABLE_comment: text } as Record<string, unknown>);
}

/** JSX, or an array holding some. Signals pass `isValidElement` (they render as text), so they are excluded. */
function isJsx(value: unknown): boolean {
  if (value instanceof Signal) return false;
  if (isValidElement(value)) return true;
  return Array.isArray(value) && value.some(isJsx);
}

/** Renders server JSX passed to an island between slot markers. */
function SlotContent(
  props: { id: number; name: string; content: ComponentChildren },
): VNode {
  return h(Fragment, null, [
    comment(`frsh:slot:${props.id}:${props.name}`),
    // Islands in server JSX are top-level islands again, even inside an island.
    h(InsideIsland.Provider, { value: false }, props.content),
    comment("/frsh:slot"),
  ]);
}

/** Creates a vnode of the island itself, bypassing the swap in the hook. */
function original(
  component: AnyComponent,
  props: Record<string, unknown>,
): VNode {
  const vnode = h(component, props);
  vnode.type = component;
  return vnode;
}

function boundaryFor(info: IslandInfo): AnyComponent {
  const existing = BOUNDARIES.get(info.component);
  if (existing) return existing;
  const Boundary = (props: Record<string, unknown>): VNode => {
    const state = currentRender();
    const inside = useContext(InsideIsland);
    if (state === null || inside) return original(info.component, props);
    const browserProps: Record<string, unknown> = {};
    const serverProps: Record<string, unknown> = {};
    for (const name of Object.keys(props)) {
      const value = props[name];
      if (
        name === "children"
          ? isJsx(value)
          : !(value instanceof Signal) && isValidElement(value)
      ) {
        const id = state.nextSlotId++;
        browserProps[name] = new SlotRef(id, name);
        serverProps[name] = h(SlotContent, {
          id,
          name,
          content: value as ComponentChildren,
        });
        continue;
      }
      if (typeof value === "function") {
        throw new Error(
          `Island "${info.id}" received a function in prop "${name}"; functions cannot be sent to the browser. Define the function inside the island, or pass data instead.`,
        );
      }
      browserProps[name] = value;
      serverProps[name] = value;
    }
    const index = state.islands.push({ island: info, props: browserProps }) -
      1;
    const key = (KEYS.get(props) ?? "").replace(/[^\w-]/g, "_");
    return h(Fragment, null, [
      comment(`frsh:island:${info.id}:${index}:${key}`),
      h(InsideIsland.Provider, {
        value: true,
        children: original(info.component, serverProps),
      }),
      comment("/frsh:island"),
    ]);
  };
  Boundary.displayName = `Island(${info.id})`;
  BOUNDARIES.set(info.component, Boundary);
  return Boundary;
}

const previousVNodeHook = options.vnode;
options.vnode = (vnode: VNode) => {
  const info = typeof vnode.type === "function"
    ? ISLANDS.get(vnode.type as AnyComponent)
    : undefined;
  if (info !== undefined) {
    if (vnode.key != null) KEYS.set(vnode.props, String(vnode.key));
    vnode.type = boundaryFor(info);
  }
  previousVNodeHook?.(vnode);
};
