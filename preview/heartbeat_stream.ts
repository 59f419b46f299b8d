/**
 * The skeleton the preview's two committed responses share (server-sent events, the PNG of a plain
 * request): a body stream that writes a heartbeat every 50 ms while its producer runs, so a
 * closed connection shows as a failed write within ~0.1 s, and whose cancellation aborts the
 * producer's signal (the request's own signal is not read: Deno warns about its legacy abort;
 * docs/cli.md, "serve").
 *
 * @module
 */

const _HEARTBEAT_MS = 50;

/**
 * A body stream: `first` at once, `beat()` every 50 ms until `run` settles, `run` given the stream's
 * controller and a signal that aborts when the client is gone. `run` ends the stream itself (close
 * or error); after a cancellation nothing more is written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heartbeatStream } from "./heartbeat_stream.ts";
 *
 * const body = heartbeatStream(Uint8Array.of(1), () => Uint8Array.of(0), async (c) => {
 *   c.enqueue(Uint8Array.of(2));
 *   c.close();
 * });
 * assert.deepEqual([...await new Response(body).bytes()], [1, 2]);
 * ```
 *
 * @param first What goes out at once (may be empty).
 * @param beat The heartbeat's bytes.
 * @param run Writes the rest and ends the stream; its signal aborts when the client is gone.
 * @returns The stream.
 */
export function heartbeatStream(
  first: Uint8Array,
  beat: () => Uint8Array,
  run: (
    controller: ReadableStreamDefaultController<Uint8Array>,
    gone: AbortSignal,
  ) => Promise<void>,
): ReadableStream<Uint8Array> {
  const gone = new AbortController();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.length) controller.enqueue(first);
      const timer = setInterval(() => {
        if (!gone.signal.aborted) controller.enqueue(beat());
      }, _HEARTBEAT_MS);
      run(controller, gone.signal).finally(() => clearInterval(timer));
    },
    cancel: () => gone.abort(new DOMException("client gone", "AbortError")),
  });
}
