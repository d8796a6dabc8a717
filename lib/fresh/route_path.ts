/**
 * Fresh's file-name conventions: how `routes/blog/[slug].tsx` becomes the
 * URLPattern pathname `/blog/:slug`, and the order in which dynamic routes are
 * tried. Pure functions, no I/O.
 *
 * @module
 */

/** The special files a `routes/` folder may hold. */
export type SpecialFile = "_app" | "_layout" | "_middleware" | "_404" | "_500";

const SPECIAL_FILES: ReadonlySet<string> = new Set([
  "_app",
  "_layout",
  "_middleware",
  "_404",
  "_500",
]);

const ROUTE_EXTENSION = /\.(tsx|ts|jsx|js)$/;
const TEST_FILE = /(_test|\.test)$/;
/** Characters with meaning in a URLPattern pathname. */
const PATTERN_SYNTAX = /[*:{}+?()\\]/g;

/** A route file, split into the parts the router needs. */
export interface RouteFile {
  /** The manifest key, e.g. `./routes/(app)/blog/[slug].tsx`. */
  file: string;
  /** Folders from `routes/`, groups kept: `["(app)", "blog"]`. */
  dirs: string[];
  /** The file name without extension: `[slug]`. */
  name: string;
  /** Set for `_app`, `_layout`, ... */
  special: SpecialFile | null;
}

/**
 * Splits a manifest key; returns null for files that are never routes
 * (tests, `(_private)` folders, unknown `_` files).
 */
export function parseRouteFile(file: string): RouteFile | null {
  const relative = file.replace(/^\.\/routes\//, "").replace(
    ROUTE_EXTENSION,
    "",
  );
  const parts = relative.split("/");
  const name = parts.pop() ?? "";
  if (TEST_FILE.test(name)) return null;
  if (parts.some((dir) => dir.startsWith("(_"))) return null;
  if (name.startsWith("_")) {
    if (!SPECIAL_FILES.has(name)) return null;
    return { file, dirs: parts, name, special: name as SpecialFile };
  }
  return { file, dirs: parts, name, special: null };
}

/** One URL segment of a route, classified for ordering. */
interface Segment {
  /** 0 static, 1 param, 2 optional param, 3 rest. */
  rank: number;
  text: string;
}

/** Pattern of a route file, and whether it needs URLPattern at all. */
export interface RoutePattern {
  pattern: string;
  isStatic: boolean;
  segments: Segment[];
}

/**
 * Converts a route file's folders and name into a URLPattern pathname.
 *
 * ```ts
 * routePattern(["(app)", "blog"], "[slug]"); // { pattern: "/blog/:slug", isStatic: false, ... }
 * routePattern([], "index");                 // { pattern: "/", isStatic: true, ... }
 * ```
 */
export function routePattern(dirs: string[], name: string): RoutePattern {
  const parts = [...dirs, name].filter((part) =>
    !(part.startsWith("(") && part.endsWith(")"))
  );
  if (parts.at(-1) === "index") parts.pop();
  const segments: Segment[] = [];
  let pattern = "";
  for (const part of parts) {
    // Case: [[optional]] is an optional segment, slash included.
    const optional = /^\[\[([A-Za-z_$][\w$]*)\]\]$/.exec(part);
    if (optional) {
      pattern += `{/:${optional[1]}}?`;
      segments.push({ rank: 2, text: part });
      continue;
    }
    // Case: [...rest] matches the rest of the path, possibly nothing.
    const rest = /^\[\.\.\.([A-Za-z_$][\w$]*)\]$/.exec(part);
    if (rest) {
      pattern += `/:${rest[1]}*`;
      segments.push({ rank: 3, text: part });
      continue;
    }
    // Case: [id], or [id]-x[b] mixing literals and params in one segment.
    let converted = "";
    let hasParam = false;
    let last = 0;
    for (const match of part.matchAll(/\[([A-Za-z_$][\w$]*)\]/g)) {
      converted += escapeLiteral(part.slice(last, match.index));
      converted += `{:${match[1]}}`;
      last = match.index + match[0].length;
      hasParam = true;
    }
    converted += escapeLiteral(part.slice(last));
    pattern += `/${converted}`;
    segments.push({ rank: hasParam ? 1 : 0, text: part });
  }
  const isStatic = segments.every((segment) => segment.rank === 0);
  if (isStatic) pattern = "/" + parts.join("/");
  return { pattern: pattern === "" ? "/" : pattern, isStatic, segments };
}

/** True when a pathname has URLPattern syntax (used for `routeOverride`). */
export function isDynamicPattern(pattern: string): boolean {
  return /[*:{}+?()]/.test(pattern);
}

function escapeLiteral(text: string): string {
  return text.replace(PATTERN_SYNTAX, (char) => `\\${char}`);
}

/**
 * Orders dynamic routes the way Fresh does: segment by segment, static before
 * `[param]` before `[[optional]]` before `[...rest]`, then alphabetically, and a
 * longer path first when one is a prefix of the other.
 */
export function compareRoutePatterns(a: RoutePattern, b: RoutePattern): number {
  const length = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const left = a.segments[i];
    const right = b.segments[i];
    if (left.rank !== right.rank) return left.rank - right.rank;
    if (left.text !== right.text) return left.text < right.text ? -1 : 1;
  }
  return b.segments.length - a.segments.length;
}
