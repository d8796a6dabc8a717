import type {
  IndicatorState,
  IndicatorView,
} from "../lib/dashboard/indicator.ts";

/** Props of {@linkcode ConnectionIndicator}. */
export interface ConnectionIndicatorProps {
  state: IndicatorState;
  view: IndicatorView;
}

/**
 * The connection status: one `role="status"` element whose `data-state` is
 * the connection state, with a coloured dot and the words beside it.
 */
export function ConnectionIndicator({ state, view }: ConnectionIndicatorProps) {
  return (
    <div class="conn" role="status" data-state={state}>
      <span class="conn-dot" aria-hidden="true" />
      <span class="conn-label">{view.label}</span>
      {view.detail && <span class="conn-detail">{view.detail}</span>}
    </div>
  );
}
