/**
 * Dev-only live reload: pages get a small script that keeps a WebSocket to the
 * dev server and reloads when the server comes back with another build.
 *
 * @module
 */

/** The live-reload WebSocket endpoint. */
export const LIVE_RELOAD_PATH = "/_fresh/alive";

/** Answers the live-reload socket: it sends the build id, then stays quiet. */
export function liveReloadResponse(req: Request, buildId: string): Response {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("Connect with a WebSocket.", { status: 400 });
  }
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => socket.send(JSON.stringify({ buildId }));
  return response;
}

/**
 * The inline client: reconnects while the dev server restarts, and reloads when
 * it reports a build id other than the page's.
 */
export function liveReloadScript(buildId: string): string {
  return `(()=>{const id=${
    JSON.stringify(buildId)
  };let tries=0;const connect=()=>{const ws=new WebSocket((location.protocol==="https:"?"wss://":"ws://")+location.host+${
    JSON.stringify(LIVE_RELOAD_PATH)
  });ws.onopen=()=>{tries=0};ws.onmessage=(e)=>{if(JSON.parse(e.data).buildId!==id)location.reload()};ws.onclose=()=>{if(tries++<600)setTimeout(connect,250)}};connect()})();`;
}
