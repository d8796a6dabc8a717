import type { Signal } from "@preact/signals";
import { formatCountdown, formatDateTime } from "../lib/dashboard/format.ts";

/** Props of {@linkcode Countdown}. */
export interface CountdownProps {
  /** The moment counted down to (ISO). */
  at: string;
  /** The ticking clock; only this component re-renders when it ticks. */
  now: Signal<number>;
}

/** "3 m 05 s" until a moment, with the moment itself as a tooltip. */
export function Countdown({ at, now }: CountdownProps) {
  const target = Date.parse(at);
  return (
    <time class="countdown" dateTime={at} title={formatDateTime(at)}>
      {formatCountdown(target - now.value)}
    </time>
  );
}
