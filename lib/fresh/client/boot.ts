/**
 * The browser runtime: finds the islands the server marked, rebuilds their
 * props, and renders each one into the range between its markers, so Preact
 * adopts the server's DOM nodes instead of replacing them. Server JSX passed to
 * an island (slots) is read back from the DOM as vnodes, so it stays as it was.
 *
 * Bundled by `deno bundle` as the `fresh-runtime` entry; island chunks share
 * its Preact copy through code splitting.
 *
 * @module
 */

/// <reference lib="dom" />

import {
  type ComponentChild,
  type ComponentType,
  h,
  render,
  type VNode,
} from "preact";
import { computed, signal } from "@preact/signals";
import { deserialize } from "../shared/deserialize.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

const ISLAND_START = "frsh:island:";
const ISLAND_END = "/frsh:island";
const SLOT_START = "frsh:slot:";
const SLOT_END = "/frsh:slot";

interface Range {
  start: Comment;
  end: Comment;
}

interface IslandMarker extends Range {
  name: string;
  index: number;
  key: string;
}

/**
 * Brings the islands of the page to life. Called by the inline boot script with
 * the island components used on the page and their serialized props.
 */
export function boot(
  islands: Record<string, AnyComponent>,
  data: unknown[],
): void {
  const { roots, slots } = scan(document.body);
  const slotContent = new Map<number, ComponentChild>();
  let props: Record<string, unknown>[] = [];

  /** Slot content is read from the DOM on first render, when props exist. */
  const Slot = ({ id }: { id: number }): ComponentChild => {
    if (!slotContent.has(id)) {
      const range = slots.get(id);
      slotContent.set(
        id,
        range === undefined
          ? null
          : toVNodes(range.start.nextSibling, range.end),
      );
    }
    return slotContent.get(id) ?? null;
  };

  const islandVNode = (marker: IslandMarker): VNode | null => {
    const component = islands[marker.name];
    if (component === undefined) {
      console.error(
        `Island "${marker.name}" is on the page but was not loaded.`,
      );
      return null;
    }
    const islandProps = { ...props[marker.index] };
    if (marker.key !== "") islandProps.key = marker.key;
    return h(component, islandProps);
  };

  /** Converts server HTML between two nodes into vnodes matching it. */
  const toVNodes = (
    from: ChildNode | null,
    end: Node | null,
  ): ComponentChild[] => {
    const out: ComponentChild[] = [];
    for (
      let node = from;
      node !== null && node !== end;
      node = node.nextSibling
    ) {
      if (node.nodeType === Node.TEXT_NODE) {
        out.push((node as Text).data);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        const element = node as Element;
        out.push(
          h(
            element.localName,
            attributesOf(element),
            ...toVNodes(element.firstChild, null),
          ),
        );
      } else if (node.nodeType === Node.COMMENT_NODE) {
        const marker = parseIsland(node as Comment);
        if (marker === null) continue;
        const close = matchingEnd(node as Comment);
        if (close === null) continue;
        out.push(
          islandVNode({ ...marker, start: node as Comment, end: close }),
        );
        node = close;
      }
    }
    return out;
  };

  props = deserialize(data, {
    Signal: (value) => signal(value),
    Computed: (value) => computed(() => value),
    Slot: (id) => h(Slot, { id }),
  }) as Record<string, unknown>[];

  for (const root of roots) {
    try {
      const vnode = islandVNode(root);
      if (vnode !== null) mount(root, vnode);
    } catch (error) {
      console.error(`Island "${root.name}" failed to start:`, error);
    }
  }
  document.documentElement.dataset.islands = "ready";
}

/** Renders `vnode` over the DOM between the markers of `range`. */
function mount(range: IslandMarker, vnode: VNode): void {
  const parent = range.start.parentNode;
  if (parent === null || parent !== range.end.parentNode) {
    console.error(
      `Island "${range.name}" was moved by the browser, probably by invalid HTML nesting (a <div> inside a <p>, say); it stays static. Fix the markup around it.`,
    );
    return;
  }
  // Preact skips comment nodes when it looks for the next sibling, so the end
  // marker becomes an empty text node that new nodes are inserted before.
  const anchor = document.createTextNode("");
  parent.replaceChild(anchor, range.end);
  const children: ChildNode[] = [];
  for (
    let node = range.start.nextSibling;
    node !== anchor && node !== null;
    node = node.nextSibling
  ) {
    children.push(node);
  }
  const start = document.createTextNode("");
  parent.replaceChild(start, range.start);
  const container = {
    namespaceURI: (parent as Element).namespaceURI,
    firstChild: children[0] ?? null,
    childNodes: children,
    parentNode: parent,
    insertBefore: (node: Node, before: Node | null) =>
      parent.insertBefore(node, before ?? anchor),
    appendChild: (node: Node) => parent.insertBefore(node, anchor),
    removeChild: (node: Node) => parent.removeChild(node),
    contains: (node: Node) => children.includes(node as ChildNode),
  };
  render(vnode, container as unknown as Element);
}

/** Finds the top-level islands and every slot, in document order. */
function scan(
  root: Node,
): { roots: IslandMarker[]; slots: Map<number, Range> } {
  const roots: IslandMarker[] = [];
  const slots = new Map<number, Range>();
  const open: ({ kind: "island"; marker: IslandMarker } | {
    kind: "slot";
    id: number;
    start: Comment;
  })[] = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_COMMENT);
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    const comment = node as Comment;
    const text = comment.data;
    if (text.startsWith(ISLAND_START)) {
      const marker = parseIsland(comment);
      if (marker) {
        open.push({
          kind: "island",
          marker: { ...marker, start: comment, end: comment },
        });
      }
    } else if (text === ISLAND_END) {
      const top = open.pop();
      if (top?.kind !== "island") continue;
      top.marker.end = comment;
      if (open.length === 0) roots.push(top.marker);
    } else if (text.startsWith(SLOT_START)) {
      const id = Number(text.slice(SLOT_START.length).split(":")[0]);
      open.push({ kind: "slot", id, start: comment });
    } else if (text === SLOT_END) {
      const top = open.pop();
      if (top?.kind === "slot") {
        slots.set(top.id, { start: top.start, end: comment });
      }
    }
  }
  return { roots, slots };
}

function parseIsland(
  comment: Comment,
): { name: string; index: number; key: string } | null {
  if (!comment.data.startsWith(ISLAND_START)) return null;
  const [name, index, key = ""] = comment.data.slice(ISLAND_START.length).split(
    ":",
  );
  return { name, index: Number(index), key };
}

/** The `/frsh:island` closing `start` among its siblings. */
function matchingEnd(start: Comment): Comment | null {
  let depth = 0;
  for (let node = start.nextSibling; node !== null; node = node.nextSibling) {
    if (node.nodeType !== Node.COMMENT_NODE) continue;
    const text = (node as Comment).data;
    if (text.startsWith(ISLAND_START)) depth++;
    else if (text === ISLAND_END) {
      if (depth === 0) return node as Comment;
      depth--;
    }
  }
  return null;
}

/**
 * Props that reproduce an element's attributes exactly, so Preact's diff finds
 * nothing to change. Boolean properties become `true` (the attribute string ""
 * would set them false); inline `on*` handlers are left to the DOM.
 */
function attributesOf(element: Element): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const attribute of Array.from(element.attributes)) {
    const name = attribute.name;
    if (name.startsWith("on")) continue;
    const current = (element as unknown as Record<string, unknown>)[name];
    props[name] = typeof current === "boolean" ? true : attribute.value;
  }
  return props;
}
