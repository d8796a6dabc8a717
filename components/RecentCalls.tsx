import {
  formatClock,
  formatInteger,
  formatUsd,
  nanosToUsd,
} from "../lib/dashboard/format.ts";
import type { UsageRecord } from "../lib/quota/types.ts";

/** How many calls the table shows. */
const ROWS = 10;

/** Props of {@linkcode RecentCalls}. */
export interface RecentCallsProps {
  recent: readonly UsageRecord[];
}

/** The most recent calls: time, key, model, tokens, cost, and whether the numbers are estimated. */
export function RecentCalls({ recent }: RecentCallsProps) {
  const rows = [...recent].sort((a, b) => b.at - a.at).slice(0, ROWS);
  return (
    <section class="section" aria-labelledby="recent-title">
      <h2 id="recent-title">Recent calls</h2>
      {rows.length === 0
        ? <p class="empty">No calls yet.</p>
        : (
          <div class="card table-wrap">
            <table class="recent">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Key</th>
                  <th scope="col">Model</th>
                  <th scope="col" class="num">Input</th>
                  <th scope="col" class="num">Output</th>
                  <th scope="col" class="num">Cost</th>
                  <th scope="col">Notes</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.id} data-call-id={r.id}>
                    <td>
                      <time dateTime={new Date(r.at).toISOString()}>
                        {formatClock(r.at)}
                      </time>
                    </td>
                    <td>{r.key}</td>
                    <td>
                      <code>{r.model}</code>
                    </td>
                    <td class="num">{formatInteger(r.inputTokens)}</td>
                    <td class="num">{formatInteger(r.outputTokens)}</td>
                    <td class="num">{formatUsd(nanosToUsd(r.costNanos))}</td>
                    <td class="notes">
                      {r.estimated && (
                        <span
                          class="badge badge-warning"
                          title="The provider sent no usage; the numbers are estimated."
                        >
                          estimated
                        </span>
                      )}
                      {r.fallbackPrice && (
                        <span
                          class="badge badge-muted"
                          title="The model is not in the price table; billed at the fallback price."
                        >
                          fallback price
                        </span>
                      )}
                      {r.status >= 400 && (
                        <span class="badge badge-exceeded">
                          HTTP {r.status}
                        </span>
                      )}
                      {r.endpoint === "report" && (
                        <span class="badge badge-muted">reported</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </section>
  );
}
