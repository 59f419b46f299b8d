/**
 * A server-sent-events response whose producer stops when the client goes away: the
 * producer's signal aborts when the stream is cancelled, which a failed write does (the request's
 * own signal is not read: Deno warns about its legacy abort; docs/cli.md, "serve").
 *
 * @module
 */

import { heartbeatStream } from "./heartbeat_stream.ts";

/** Sends one named event with a JSON payload. */
export type SendEvent = (event: string, data: unknown) => void;

/**
 * Answer `text/event-stream`, filled by `produce`; the stream closes when it settles.
 *
 * @example
 * ```ts
 * import { eventStream } from "./event_stream.ts";
 * const res = eventStream(async (send) => {
 *   send("progress", { step: 1, total: 2 });
 *   send("done", { ok: true });
 * });
 * console.log(await res.text()); // "event: progress\ndata: {...}\n\nevent: done\n..."
 * ```
 *
 * @param produce Sends the events; its signal aborts when the client is gone.
 * @returns The streamed response.
 */
export function eventStream(
  produce: (send: SendEvent, signal: AbortSignal) => Promise<void>,
): Response {
  const encoder = new TextEncoder();
  // a closed connection shows only when a write fails, the second after the close: a comment line
  // every 50 ms notices a leaving client within ~0.1 s, not two steps later
  const body = heartbeatStream(
    new Uint8Array(),
    () => encoder.encode(":\n\n"),
    (controller, gone) => {
      const send: SendEvent = (event, data) => {
        if (gone.aborted) return;
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      };
      return produce(send, gone).catch((e) => {
        console.error(`preview: internal error: ${(e as Error)?.stack ?? e}`);
        send("error", { status: 500, error: "internal error" });
      }).finally(() => {
        if (!gone.aborted) controller.close();
      });
    },
  );
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // proxies must pass each event on as it comes
      "x-accel-buffering": "no",
    },
  });
}
