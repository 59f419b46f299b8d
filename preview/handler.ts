/**
 * The edge preview: a `(req: Request) => Promise<Response>` handler for `Deno.serve` and
 * Deploy-style `export default { fetch }`. It uses only the WebAssembly ONNX runtime and writes
 * no files (docs/cli.md, "serve").
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { type DecodedImage, decodeImage, imageToTensor, tensorToPng } from "../lib/image.ts";
import { Tensor } from "../lib/tensor.ts";
import { DEFAULT_MODEL, loadModel } from "../model/builtin_models.ts";
import type { Model } from "../model/model.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import type { DdnmTask } from "../operators/ddnm_tasks.ts";
import { BodyTooLarge, Gate, readCapped } from "./limits.ts";
import { eventStream } from "./event_stream.ts";
import { bytesToBase64 } from "../lib/base64.ts";
import type { RestoreProgress } from "../pipelines/run.ts";
import { PREVIEW_PAGE } from "./page.ts";

/**
 * The default long side of a preview in pixels: 192 px keeps one network call near 80 ms on two
 * cores, so a client that leaves costs under 0.2 s of CPU (docs/cli.md, "serve").
 */
export const PREVIEW_MAX_SIDE = 192;

/** Options of {@linkcode createPreviewHandler}. */
export interface PreviewOptions {
  /** The model (default the built-in one), run with the wasm runtime. */
  model?: string;
  /** Largest request body in bytes (default 10 MB). */
  maxBodyBytes?: number;
  /** Largest decoded image in pixels (default 16 megapixels). */
  maxPixels?: number;
  /** Largest `steps` (default 50). */
  maxSteps?: number;
  /** Default `steps` (default 8). */
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

const _TASKS = ["sr", "colorize", "denoise", "inpaint"] as const;

function _json(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

const _BUSY = "busy: too many requests are waiting; try again shortly";

// the status and message an exception answers with
function _failure(e: unknown, client: AbortSignal): [number, string] {
  if (e instanceof BodyTooLarge) return [413, e.message];
  if (e instanceof UserError) return [400, e.message];
  const err = e as Error;
  if (client.aborted) return [499, "the client closed the request"];
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

/** A parsed preview request. */
interface _Job {
  observed: Tensor;
  task: DdnmTask;
  mask?: Uint8Array;
  steps: number;
  seed: number;
}

function _int(
  params: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = params.get(name);
  if (raw === null || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new UserError(`parameter ${name}=${raw} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

/**
 * Downscale by whole-pixel box averaging so the long side is at most `side` (deterministic).
 *
 * @param t The image.
 * @param side The longest allowed side.
 * @returns The image, or a smaller one.
 */
export function fitWithin(t: Tensor, side: number): Tensor {
  const [n, c, h, w] = t.shape;
  if (Math.max(h, w) <= side) return t;
  const s = side / Math.max(h, w);
  const H = Math.max(1, Math.floor(h * s)), W = Math.max(1, Math.floor(w * s));
  const out = Tensor.zeros([n, c, H, W]);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < H; i++) {
      const y0 = Math.floor((i * h) / H), y1 = Math.max(y0 + 1, Math.floor(((i + 1) * h) / H));
      for (let j = 0; j < W; j++) {
        const x0 = Math.floor((j * w) / W), x1 = Math.max(x0 + 1, Math.floor(((j + 1) * w) / W));
        let sum = 0;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) sum += t.data[(p * h + y) * w + x];
        }
        out.data[(p * H + i) * W + j] = sum / ((y1 - y0) * (x1 - x0));
      }
    }
  }
  return out;
}

function _maskFrom(img: DecodedImage, width: number, height: number): Uint8Array | null {
  const plane = img.width * img.height;
  let src: Float32Array;
  if (img.alpha) src = img.alpha;
  else {
    src = new Float32Array(plane);
    for (let p = 0; p < plane; p++) {
      let v = 0;
      for (let c = 0; c < img.channels; c++) v += img.pixels[c * plane + p];
      src[p] = v / img.channels;
    }
  }
  const fitted = fitWithin(new Tensor([1, 1, img.height, img.width], src), Math.max(width, height));
  if (fitted.w !== width || fitted.h !== height) return null;
  return Uint8Array.from(fitted.data, (v) => (v >= 0.5 ? 1 : 0));
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
 * ```ts ignore
 * import { createPreviewHandler } from "./handler.ts";
 * Deno.serve({ port: 8000 }, createPreviewHandler());
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
  const models: Promise<Model>[] = [];
  const idle: Model[] = [];
  // one session per concurrent slot, created on first need and reused
  const takeModel = async (): Promise<Model> => {
    const m = idle.pop();
    if (m) return m;
    const p = loadModel(options.model ?? DEFAULT_MODEL, {
      runtime: "wasm",
      // the wasm runtime's default of one thread: its pool can hang a first call (docs/cli.md)
      threads: options.threads,
    });
    models.push(p);
    return await p;
  };

  // the request, parsed and fitted to the preview size
  const parse = async (req: Request, url: URL): Promise<_Job> => {
    const params = url.searchParams;
    const task = params.get("task") ?? "sr";
    if (!(_TASKS as readonly string[]).includes(task)) {
      throw new UserError(`task must be one of ${_TASKS.join(", ")}, got '${task}'`);
    }
    const scale = task === "sr" ? _int(params, "scale", 4, 1, 8) : 1;
    // 8 steps: about 0.7 s at 192 px on 2 cores, 34.7 dB from the 50-step result (README)
    const steps = _int(params, "steps", options.defaultSteps ?? 8, 1, maxSteps);
    const seed = _int(params, "seed", 0, 0, 2 ** 31 - 1);
    const body = await readCapped(req, maxBody);
    const contentType = req.headers.get("content-type") ?? "";
    const type = contentType.toLowerCase(); // for matching only: the multipart boundary is case-sensitive
    let imageBytes = body;
    let maskBytes: Uint8Array | null = null;
    if (type.startsWith("multipart/form-data")) {
      const form = await new Request("http://local/", {
        method: "POST",
        headers: { "content-type": contentType },
        body: body as Uint8Array<ArrayBuffer>,
      }).formData()
        .catch(() => {
          throw new UserError("malformed multipart body");
        });
      const image = form.get("image"), mask = form.get("mask");
      if (!(image instanceof Blob)) {
        throw new UserError("multipart body needs a file field 'image'");
      }
      imageBytes = new Uint8Array(await image.arrayBuffer());
      if (mask instanceof Blob) maskBytes = new Uint8Array(await mask.arrayBuffer());
    }
    if (imageBytes.length === 0) throw new UserError("the request has no image");
    const decoded = decodeImage(imageBytes, "image", { maxPixels });
    // the output's long side is at most maxSide: the input is fitted first
    const input = fitWithin(imageToTensor(decoded), Math.floor(maxSide / scale));
    let mask: Uint8Array | undefined;
    if (task === "inpaint") {
      const source = maskBytes
        ? decodeImage(maskBytes, "mask", { maxPixels })
        : decoded.alpha
        ? decoded
        : null;
      if (!source) {
        throw new UserError("inpaint needs a 'mask' field or a PNG with transparent pixels");
      }
      mask = _maskFrom(source, input.w, input.h) ?? undefined;
      if (!mask) {
        throw new UserError(
          `the mask is ${source.width}x${source.height}, the image ${decoded.width}x${decoded.height}`,
        );
      }
    }
    const ddnmTask: DdnmTask = task === "sr"
      ? { name: "sr", scale }
      : { name: task as DdnmTask["name"] };
    // a gray photo is the observation itself for colorize, and three equal channels otherwise
    const observed = task !== "colorize" && input.c === 1
      ? imageToTensor({
        width: input.w,
        height: input.h,
        channels: 1,
        pixels: input.data,
        alpha: null,
      }, 3)
      : input;
    return { observed, task: ddnmTask, mask, steps, seed };
  };

  // the job through the gate: null when refused, the image in [0,1] units otherwise
  const run = (
    job: _Job,
    client: AbortSignal,
    onProgress?: (p: RestoreProgress) => void,
  ): Promise<Tensor | null> =>
    gate.run(async () => {
      // a client that left while its request waited costs nothing
      if (client.aborted) throw new DOMException("client gone", "AbortError");
      const model = await takeModel();
      // the budget is checked at every step too: a busy loop may not let timers fire
      const budget = options.timeoutMs ?? 60_000, deadline = performance.now() + budget;
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new DOMException("time budget", "TimeoutError")),
        budget,
      );
      // a client that goes away stops its run within one step
      const gone = () => controller.abort(new DOMException("client gone", "AbortError"));
      client.addEventListener("abort", gone);
      try {
        const result = await restoreDdnm(job.observed, {
          task: job.task,
          model,
          mask: job.mask,
          steps: job.steps,
          seed: job.seed,
          signal: controller.signal,
          onProgress: (p) => {
            if (performance.now() > deadline) {
              controller.abort(new DOMException("time budget", "TimeoutError"));
            }
            onProgress?.(p);
          },
        });
        return result.image;
      } finally {
        clearTimeout(timer);
        client.removeEventListener("abort", gone);
        idle.push(model);
      }
    });

  const restore = async (req: Request, url: URL): Promise<Response> => {
    const job = await parse(req, url);
    const image = await run(job, req.signal);
    if (image === null) return _json(429, _BUSY);
    return new Response(tensorToPng(image), {
      headers: {
        "content-type": "image/png",
        "x-steps": String(job.steps),
        "x-seed": String(job.seed),
      },
    });
  };

  // the same restoration as server-sent events: queued, progress (x0 previews), done or error
  const restoreStreamed = async (req: Request, url: URL): Promise<Response> => {
    const job = await parse(req, url);
    if (gate.full) return _json(429, _BUSY);
    return eventStream(req.signal, async (send, client) => {
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
      const [status, error] = _failure(e, req.signal);
      return _json(status, error);
    }
  };
  return Object.defineProperty(handler, "running", { get: () => gate.running }) as PreviewHandler;
}
