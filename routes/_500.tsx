import { HttpError, type PageProps } from "../lib/fresh/mod.ts";

/** Shown when a request fails; the details stay in the server log. */
export default function ServerError({ error }: PageProps) {
  const status = error instanceof HttpError ? error.status : 500;
  return (
    <main class="page">
      <h1>{status === 500 ? "Something went wrong" : `Error ${status}`}</h1>
      <p>
        {error instanceof HttpError && (status < 500 || status === 503)
          ? error.message
          : "The server failed to answer this request. Try again; if it keeps failing, the server log says why."}
      </p>
    </main>
  );
}
