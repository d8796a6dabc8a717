import Counter from "../islands/Counter.tsx";
import { type Handlers, page, type PageProps } from "../lib/fresh/mod.ts";

interface DemoData {
  start: number;
  renderedAt: Date;
}

/** GET /demo: a counter island that proves the runtime end to end. */
export const handler: Handlers<DemoData> = {
  GET(ctx) {
    const start = Number(ctx.url.searchParams.get("start") ?? "3");
    return page({
      start: Number.isFinite(start) ? start : 3,
      renderedAt: new Date(),
    });
  },
};

/** A page with one island and server JSX passed into it. */
export default function Demo({ data }: PageProps<DemoData>) {
  return (
    <main class="page">
      <h1>Island demo</h1>
      <p>
        The counter below is an island: rendered here on the server, then
        brought to life in the browser.
      </p>
      <Counter start={data.start} label="Clicks">
        <p id="server-child">
          This paragraph was rendered on the server at{" "}
          <time dateTime={data.renderedAt.toISOString()}>
            {data.renderedAt.toISOString()}
          </time>{" "}
          and passed to the island as children.
        </p>
      </Counter>
    </main>
  );
}
