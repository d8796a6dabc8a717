import {
  linePath,
  type MinuteBucket,
  niceCeiling,
  seriesTotals,
  stackedBars,
} from "../lib/dashboard/chart.ts";
import {
  formatCompact,
  formatInteger,
  formatUsd,
  nanosToUsd,
} from "../lib/dashboard/format.ts";

const WIDTH = 720;
const HEIGHT = 170;
const LEFT = 44;
const RIGHT = 36;
const TOP = 10;
const BOTTOM = 22;

/** Props of {@linkcode UsageChart}. */
export interface UsageChartProps {
  /** One bucket per minute, oldest first (see `minuteSeries`). */
  series: readonly MinuteBucket[];
}

/**
 * The last hour, one column a minute: input and output tokens as stacked
 * bars (left axis) and requests as a line (right axis). Plain SVG, so it
 * renders on the server and needs no library.
 */
export function UsageChart({ series }: UsageChartProps) {
  const box = { width: WIDTH - LEFT - RIGHT, height: HEIGHT - TOP - BOTTOM };
  const totals = seriesTotals(series);
  // Axes start at 10 so that a quiet hour still has readable ticks (0, 5, 10).
  const tokenMax = niceCeiling(
    Math.max(10, ...series.map((b) => b.inputTokens + b.outputTokens)),
  );
  const requestMax = niceCeiling(
    Math.max(10, ...series.map((b) => b.requests)),
  );
  const bars = stackedBars(series, box, tokenMax);
  const line = linePath(series.map((b) => b.requests), box, requestMax);
  const summary = `${formatInteger(totals.requests)} requests, ${
    formatInteger(totals.inputTokens)
  } input and ${formatInteger(totals.outputTokens)} output tokens, ${
    formatUsd(nanosToUsd(totals.costNanos))
  } in the last hour.`;
  const ticks = [0, 0.5, 1];
  return (
    <section class="section" aria-labelledby="chart-title">
      <h2 id="chart-title">Usage, last hour</h2>
      <div class="card chart-card">
        <dl class="totals">
          <div>
            <dt>Requests</dt>
            <dd data-total="requests">{formatInteger(totals.requests)}</dd>
          </div>
          <div>
            <dt>Input tokens</dt>
            <dd>{formatCompact(totals.inputTokens)}</dd>
          </div>
          <div>
            <dt>Output tokens</dt>
            <dd>{formatCompact(totals.outputTokens)}</dd>
          </div>
          <div>
            <dt>Spend</dt>
            <dd>{formatUsd(nanosToUsd(totals.costNanos))}</dd>
          </div>
        </dl>
        <svg
          class="chart"
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          role="img"
          aria-label={`Usage per minute over the last hour: ${summary}`}
        >
          <g transform={`translate(${LEFT} ${TOP})`}>
            {ticks.map((t) => (
              <g key={t}>
                <line
                  class="chart-grid"
                  x1={0}
                  x2={box.width}
                  y1={box.height * (1 - t)}
                  y2={box.height * (1 - t)}
                />
                <text
                  class="chart-axis chart-axis-left"
                  x={-6}
                  y={box.height * (1 - t) + 4}
                >
                  {formatCompact(tokenMax * t)}
                </text>
                <text
                  class="chart-axis chart-axis-right"
                  x={box.width + 6}
                  y={box.height * (1 - t) + 4}
                >
                  {formatCompact(requestMax * t)}
                </text>
              </g>
            ))}
            {bars.map((bar, i) => (
              <g key={series[i].start}>
                {bar.inputHeight > 0 && (
                  <rect
                    class="chart-input"
                    x={bar.x}
                    y={bar.inputY}
                    width={bar.width}
                    height={bar.inputHeight}
                  />
                )}
                {bar.outputHeight > 0 && (
                  <rect
                    class="chart-output"
                    x={bar.x}
                    y={bar.outputY}
                    width={bar.width}
                    height={bar.outputHeight}
                  />
                )}
              </g>
            ))}
            {totals.requests > 0 && <path class="chart-line" d={line} />}
            {totals.requests === 0 && (
              <text
                class="chart-empty"
                x={box.width / 2}
                y={box.height / 2}
              >
                No calls in the last hour
              </text>
            )}
            <text class="chart-axis" x={0} y={box.height + 16}>−60 min</text>
            <text
              class="chart-axis chart-axis-middle"
              x={box.width / 2}
              y={box.height + 16}
            >
              −30 min
            </text>
            <text
              class="chart-axis chart-axis-end"
              x={box.width}
              y={box.height + 16}
            >
              now
            </text>
          </g>
        </svg>
        <p class="legend">
          <span class="swatch swatch-input" aria-hidden="true" />input tokens
          <span class="swatch swatch-output" aria-hidden="true" />output tokens
          <span class="swatch swatch-line" aria-hidden="true" />requests (right
          axis)
        </p>
      </div>
    </section>
  );
}
