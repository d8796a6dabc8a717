import { useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { IS_BROWSER } from "../lib/fresh/is_browser.ts";

/** Props of {@linkcode Counter}. */
export interface CounterProps {
  /** The starting count. */
  start: number;
  /** What the count is of. */
  label?: string;
  /** Server-rendered content shown under the counter. */
  children?: ComponentChildren;
}

/** A counter: the smallest island that proves hydration works. */
export default function Counter(
  { start, label = "Count", children }: CounterProps,
) {
  const count = useSignal(start);
  return (
    <section class="counter card" aria-label={label}>
      <p class="counter-value">
        {label}: <output data-testid="count">{count}</output>
      </p>
      <div class="counter-buttons">
        <button
          type="button"
          disabled={!IS_BROWSER}
          onClick={() => count.value--}
        >
          −1
        </button>
        <button
          type="button"
          disabled={!IS_BROWSER}
          onClick={() => count.value++}
        >
          +1
        </button>
      </div>
      {children && <div class="counter-note">{children}</div>}
    </section>
  );
}
