/**
 * A PNG response committed before its pixels exist, so that a plain (not streamed) request notices
 * a client that left: Deno's HTTP/1.1 server does not abort a request's signal while nothing is
 * being written (denoland/deno#21653), and a closed connection shows only when a write fails. The
 * signature and IHDR go out at once, then an empty private ancillary chunk `drPg` every 50 ms
 * (decoders skip it), then the image data. A run that fails after the commit ends the body with a
 * `drEr` chunk holding `{status, error}` and no IEND, and aborts the transfer: never a complete
 * image (docs/cli.md, "serve").
 *
 * @module
 */

import { encodePng, pngChunk, pngHead } from "../lib/png.ts";
import { grayToRgb, type Tensor } from "../lib/tensor.ts";
import { heartbeatStream } from "./heartbeat_stream.ts";

/** The status and message a failure answers with. */
export type DescribeFailure = (e: unknown, client: AbortSignal) => [number, string];

/**
 * Answer `image/png` at once and fill it when `produce` settles.
 *
 * @example
 * ```ts
 * import { pngStream } from "./png_stream.ts";
 * import { Tensor } from "../lib/tensor.ts";
 * const res = pngStream([2, 2], {}, async () => Tensor.zeros([1, 3, 2, 2]), () => [500, "x"]);
 * console.log((await res.bytes()).length > 33); // true
 * ```
 *
 * @param size The image's [height, width] (3 channels, 8 bits).
 * @param headers Extra response headers.
 * @param produce Makes the image; its signal aborts when the client is gone.
 * @param describe The status and message of a failure, for the `drEr` chunk.
 * @returns The response.
 */
export function pngStream(
  size: readonly [number, number],
  headers: Record<string, string>,
  produce: (signal: AbortSignal) => Promise<Tensor>,
  describe: DescribeFailure,
): Response {
  const [height, width] = size;
  const head = pngHead(width, height, 3);
  const body = heartbeatStream(
    head,
    () => pngChunk("drPg", new Uint8Array()),
    async (controller, gone) => {
      try {
        const image = await produce(gone);
        if (gone.aborted) return;
        if (image.h !== height || image.w !== width) {
          throw new Error(`produced ${image.w}x${image.h}, committed ${width}x${height}`);
        }
        const rgb = image.c === 1 ? grayToRgb(image) : image;
        controller.enqueue(encodePng(rgb.data, rgb.w, rgb.h, 3).subarray(head.length));
        controller.close();
      } catch (e) {
        if (gone.aborted) return;
        const [status, error] = describe(e, gone);
        const report = new TextEncoder().encode(JSON.stringify({ status, error }));
        controller.enqueue(pngChunk("drEr", report));
        controller.error(new Error(error));
      } finally {
        // the client is gone: nobody reads the rest, the stream only has to end
        if (gone.aborted) {
          try {
            controller.error(gone.reason);
          } catch { /* already cancelled */ }
        }
      }
    },
  );
  return new Response(body, {
    headers: { "content-type": "image/png", "cache-control": "no-store", ...headers },
  });
}
