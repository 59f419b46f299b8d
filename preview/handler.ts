/**
 * The edge preview: a `(req: Request) => Promise<Response>` handler for `Deno.serve` and
 * Deploy-style `export default { fetch }`. It uses only the WebAssembly ONNX runtime and writes
 * no files (docs/cli.md, "serve").
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { tensorToPng } from "../lib/image.ts";
import type { Tensor } from "../lib/tensor.ts";
import { DEFAULT_IRSDE_MODEL, PREVIEW_MODEL } from "../model/builtin_models.ts";
import { ModelPool } from "./model_pool.ts";
import type { Model } from "../model/model.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { restoreIrsde } from "../pipelines/restore_irsde.ts";
import { outputSize } from "../operators/ddnm_tasks.ts";
import { parsePreviewRequest, type PreviewJob } from "./preview_request.ts";
import { BodyTooLarge, ClientGone, Gate, PREVIEW_MAX_SIDE } from "./limits.ts";
import { eventStream } from "./event_stream.ts";
import { pngStream } from "./png_stream.ts";
import { bytesToBase64 } from "../lib/base64.ts";
import type { RestoreProgress } from "../pipelines/run.ts";
import { PREVIEW_PAGE } from "./page.ts";

export { PREVIEW_MAX_SIDE, PREVIEW_STEPS } from "./limits.ts";

/** Options of {@linkcode createPreviewHandler}. */
export interface PreviewOptions {
  /** DDNM's model (default `builtin:unet-edge`), run with the wasm runtime. */
  model?: string;
  /** IR-SDE's model for `method=irsde` (default `builtin:irsde`). */
  irsdeModel?: string;
  /** Largest request body in bytes (default 10 MB). */
  maxBodyBytes?: number;
  /** Largest decoded image in pixels (default 16 megapixels). */
  maxPixels?: number;
  /** Largest `steps` (default 50). */
  maxSteps?: number;
  /** Default `steps` (default: the model's own, per task; IR-SDE's trained T). */
  defaultSteps?: number;
  /** Restorations at once (default 1). */
  concurrency?: number;
  /** Requests allowed to wait for a slot (default 8); beyond, 429. */
  queue?: number;
  /** Time budget per request in milliseconds (default 60 s); past it, 504. */
  timeoutMs?: number;
  /** Long side of the output in pixels (default {@linkcode PREVIEW_MAX_SIDE}). */
  maxSide?: number;
  /** Threads of the wasm runtime (default 1: see docs/cli.md, "serve", on more). */
  threads?: number;
}

/** A preview handler and its state. */
export interface PreviewHandler {
  /** The request handler. */
  (req: Request): Promise<Response>;
  /** Restorations running now. */
  readonly running: number;
}

function _json(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

const _BUSY = "busy: too many requests are waiting; try again shortly";

// the queue filled between the check and the run (a committed plain request reports it in-band)
class _Busy extends Error {}

// the status and message an exception answers with
function _failure(e: unknown, client?: AbortSignal): [number, string] {
  if (e instanceof BodyTooLarge) return [413, e.message];
  if (e instanceof ClientGone) return [499, e.message];
  if (e instanceof _Busy) return [429, _BUSY];
  if (e instanceof UserError) return [400, e.message];
  const err = e as Error;
  if (client?.aborted) return [499, "the client closed the request"];
  if (err?.name === "TimeoutError" || err?.name === "AbortError") {
    return [504, "the restoration ran past its time budget"];
  }
  console.error(`preview: internal error: ${err?.stack ?? e}`);
  return [500, "internal error"];
}

// an image in [0,1] units as a PNG data URL (the encoder clips)
function _dataUrl(image: Tensor): string {
  return `data:image/png;base64,${bytesToBase64(tensorToPng(image))}`;
}

/** One job on a session, within its time budget; the client leaving stops it within one step. */
async function _restoreJob(
  job: PreviewJob,
  model: Model,
  client: AbortSignal,
  budget: number,
  onProgress?: (p: RestoreProgress) => void,
): Promise<Tensor> {
  // the budget is checked at every step too: a busy loop may not let timers fire
  const deadline = performance.now() + budget;
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("time budget", "TimeoutError")),
    budget,
  );
  // a client that goes away stops its run within one step
  const gone = () => controller.abort(new DOMException("client gone", "AbortError"));
  client.addEventListener("abort", gone);
  const common = {
    model,
    seed: job.seed,
    signal: controller.signal,
    onProgress: (p: RestoreProgress) => {
      if (performance.now() > deadline) {
        controller.abort(new DOMException("time budget", "TimeoutError"));
      }
      onProgress?.(p);
    },
  };
  try {
    const result = job.method === "irsde"
      ? await restoreIrsde(job.observed, common)
      : await restoreDdnm(job.observed, {
        ...common,
        task: job.task,
        mask: job.mask,
        steps: job.steps,
      });
    return result.image;
  } finally {
    clearTimeout(timer);
    client.removeEventListener("abort", gone);
  }
}

/**
 * Create the preview handler.
 *
 * `GET /` serves the page, `GET /healthz` answers `ok`, `POST /v1/restore?task=&scale=&steps=&seed=`
 * restores the body (image bytes, or multipart with `image` and `mask`) at a preview size and
 * answers a PNG; the same request and seed give the same bytes. Errors are JSON
 * `{"error": ...}`: 400 bad input, 413 body too large, 429 busy, 504 over the time budget.
 * With `stream=1` (or `Accept: text/event-stream`) the answer is server-sent events instead:
 * `queued`, one `progress` per step with the x0 estimate as a PNG data URL, then `done` with
 * the result or `error` with the status it would have had. Closing the connection stops the
 * run within one step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPreviewHandler } from "@diffrestore/sampler";
 *
 * const handler = createPreviewHandler(); // Deno.serve({ port: 8000 }, handler)
 * const health = await handler(new Request("http://localhost/healthz"));
 * assert.equal(await health.text(), "ok");
 * const page = await handler(new Request("http://localhost/"));
 * assert.match(page.headers.get("content-type")!, /text\/html/);
 * await page.body?.cancel();
 * ```
 *
 * @param options Limits and model.
 * @returns The handler.
 */
export function createPreviewHandler(options: PreviewOptions = {}): PreviewHandler {
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const maxPixels = options.maxPixels ?? 16 * 1024 * 1024;
  const maxSteps = options.maxSteps ?? 50;
  const maxSide = options.maxSide ?? PREVIEW_MAX_SIDE;
  // one run at a time: a second session would cost another 100 MB for no more throughput on two
  // cores (two concurrent runs peaked at 352 MB, measured)
  const gate = new Gate(options.concurrency ?? 1, options.queue ?? 8);
  const pool = new ModelPool(
    { ddnm: options.model ?? PREVIEW_MODEL, irsde: options.irsdeModel ?? DEFAULT_IRSDE_MODEL },
    options.threads,
  );
  const limits = { maxBody, maxPixels, maxSide, maxSteps, defaultSteps: options.defaultSteps };
  const parse = (req: Request, url: URL) =>
    parsePreviewRequest(req, url, limits, (m, t) => pool.steps(m, t));

  // the job through the gate: null when refused, the image in [0,1] units otherwise
  const run = (
    job: PreviewJob,
    client: AbortSignal,
    onProgress?: (p: RestoreProgress) => void,
  ): Promise<Tensor | null> =>
    gate.run(async () => {
      // a client that left while its request waited costs nothing
      if (client.aborted) throw new DOMException("client gone", "AbortError");
      const model = await pool.take(job.method);
      try {
        return await _restoreJob(job, model, client, options.timeoutMs ?? 60_000, onProgress);
      } finally {
        pool.give(job.method, model);
      }
    });

  // a plain request: the PNG is committed once the request is valid, and a heartbeat chunk
  // lets the server notice a client that left (preview/png_stream.ts)
  const restore = async (req: Request, url: URL): Promise<Response> => {
    const job = await parse(req, url);
    if (gate.full) return _json(429, _BUSY);
    const size = job.method === "irsde"
      ? [job.observed.h, job.observed.w] as const
      : outputSize(job.task, job.observed.h, job.observed.w);
    return pngStream(
      size,
      { "x-steps": String(job.steps), "x-seed": String(job.seed) },
      async (client) => {
        const image = await run(job, client);
        if (image === null) throw new _Busy();
        return image;
      },
      _failure,
    );
  };

  // the same restoration as server-sent events: queued, progress (x0 previews), done or error
  const restoreStreamed = async (req: Request, url: URL): Promise<Response> => {
    const job = await parse(req, url);
    if (gate.full) return _json(429, _BUSY);
    return eventStream(async (send, client) => {
      const meta = { steps: job.steps, seed: job.seed };
      if (gate.running >= gate.concurrency) send("queued", { ...meta, ahead: gate.waiting });
      try {
        const image = await run(job, client, (p) => {
          // the preview is read inside the callback: the sampler reuses the buffer next step
          p.preview?.().then((x0) => {
            send("progress", { step: p.step, total: p.total, image: _dataUrl(x0) });
          });
        });
        if (image === null) send("error", { status: 429, error: _BUSY });
        else {
          send("done", { ...meta, width: image.w, height: image.h, image: _dataUrl(image) });
        }
      } catch (e) {
        const [status, error] = _failure(e, client);
        send("error", { status, error });
      }
    });
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    try {
      if (req.method === "GET" && url.pathname === "/") {
        return new Response(PREVIEW_PAGE, {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      }
      if (req.method === "GET" && url.pathname === "/healthz") return new Response("ok");
      if (url.pathname === "/v1/restore") {
        if (req.method !== "POST") return _json(405, "use POST with the image as the body");
        const streamed = url.searchParams.get("stream") === "1" ||
          (req.headers.get("accept") ?? "").includes("text/event-stream");
        return await (streamed ? restoreStreamed : restore)(req, url);
      }
      return _json(404, `no route ${req.method} ${url.pathname}`);
    } catch (e) {
      const [status, error] = _failure(e);
      return _json(status, error);
    }
  };
  return Object.defineProperty(handler, "running", { get: () => gate.running }) as PreviewHandler;
}
