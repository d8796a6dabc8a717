import { gaugeModel } from "../lib/dashboard/gauge.ts";
import type { LimitStatus } from "../lib/quota/types.ts";

/** Props of {@linkcode Gauge}. */
export interface GaugeProps {
  limit: Pick<
    LimitStatus,
    "limit" | "used" | "reserved" | "metric" | "percent" | "state"
  >;
  /** The accessible name, e.g. "Tokens per minute for key alice". */
  label: string;
  /** The warning threshold as a fraction (0.8), drawn as a tick. */
  warnAt?: number;
}

/**
 * A horizontal meter: used in the state's colour, reserved shaded after it,
 * and a tick at the warning threshold.
 */
export function Gauge({ limit, label, warnAt }: GaugeProps) {
  const model = gaugeModel(limit);
  return (
    <div
      class={`gauge gauge-${limit.state}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={model.valueMax}
      aria-valuenow={model.valueNow}
      aria-valuetext={model.valueText}
      data-used={limit.used}
      data-reserved={limit.reserved}
    >
      <span class="gauge-used" style={{ width: `${model.usedPct}%` }} />
      <span
        class="gauge-reserved"
        style={{ width: `${model.reservedPct}%` }}
      />
      {warnAt !== undefined && warnAt > 0 && warnAt < 1 && (
        <span
          class="gauge-warn"
          style={{ left: `${warnAt * 100}%` }}
          aria-hidden="true"
        />
      )}
    </div>
  );
}
