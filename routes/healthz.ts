import type { Context } from "../lib/fresh/types.ts";
import { json } from "../lib/http/json.ts";
import type { AppState } from "../lib/state.ts";

/** GET /healthz: 200 while the store answers, 503 when it does not. */
export const handler = {
  async GET(ctx: Context<AppState>): Promise<Response> {
    const { services } = ctx.state;
    try {
      await services.store.changeSeq();
      return json({ status: "ok", store: services.storeKind });
    } catch (error) {
      console.error(`Health check: the store does not answer: ${error}`);
      return json(
        {
          status: "unavailable",
          store: services.storeKind,
          message:
            "The store does not answer; the server log says why. Check the data folder or Redis.",
        },
        503,
      );
    }
  },
};
