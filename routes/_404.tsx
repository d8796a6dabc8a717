/** Shown for every address no route serves. */
export default function NotFound() {
  return (
    <main class="page">
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. Check the link, or go to the{" "}
        <a href="/">dashboard</a>.
      </p>
    </main>
  );
}
