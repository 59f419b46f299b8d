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
import { DEFAULT_IRSDE_MODEL, loadModel, PREVIEW_MODEL } from "../model/builtin_models.ts";
import type { Model } from "../model/model.ts";
import type { ModelManifest } from "../model/manifest.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { restoreIrsde } from "../pipelines/restore_irsde.ts";
import { type DdnmTask, outputSize } from "../operators/ddnm_tasks.ts";
import {
  BodyTooLarge,
  ClientGone,
  Gate,
  PREVIEW_MAX_SIDE,
  PREVIEW_STEPS,
  readCapped,
} from "./limits.ts";
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

// sr-bicubic first: it is what real low-resolution photos are (sr is DDNM's average pooling)
const _TASKS = ["sr-bicubic", "sr", "colorize", "denoise", "inpaint"] as const;

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

/** A parsed preview request. */
interface _Job {
  method: "ddnm" | "irsde";
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
  const specs = {
    ddnm: options.model ?? PREVIEW_MODEL,
    irsde: options.irsdeModel ?? DEFAULT_IRSDE_MODEL,
  };
  const idle: Record<_Job["method"], Model[]> = { ddnm: [], irsde: [] };
  // one session per concurrent slot and method, created on first need and reused
  const takeModel = async (method: _Job["method"]): Promise<Model> =>
    idle[method].pop() ??
      await loadModel(specs[method], {
        runtime: "wasm",
        // the wasm runtime's default of one thread: its pool can hang a call (docs/ort_wasm_threads.md)
        threads: options.threads,
      });

  // each method's manifest, read once from its first session (later requests create none)
  const manifests: Partial<Record<_Job["method"], Promise<ModelManifest>>> = {};
  const manifestOf = (method: _Job["method"]) =>
    manifests[method] ??= takeModel(method).then((model) => {
      idle[method].push(model);
      return model.manifest;
    });
  // the steps a model runs by default for a task (its manifest)
  const modelSteps = async (method: _Job["method"], task: string): Promise<number> => {
    const m = await manifestOf(method);
    return method === "irsde"
      ? m.sde?.T ?? 100
      : m.defaults.tasks?.[task]?.steps ?? m.defaults.steps ?? PREVIEW_STEPS;
  };

  // the request, parsed and fitted to the preview size
  const parse = async (req: Request, url: URL): Promise<_Job> => {
    const params = url.searchParams;
    const task = params.get("task") ?? "sr-bicubic";
    if (!(_TASKS as readonly string[]).includes(task)) {
      throw new UserError(`task must be one of ${_TASKS.join(", ")}, got '${task}'`);
    }
    const method = params.get("method") ?? "ddnm";
    if (method !== "ddnm" && method !== "irsde") {
      throw new UserError(`method must be ddnm or irsde, got '${method}'`);
    }
    if (method === "irsde" && task !== "denoise") {
      throw new UserError(
        `method irsde restores task=denoise only (its built-in network removes Gaussian noise), got '${task}'`,
      );
    }
    if (method === "irsde" && params.has("steps")) {
      throw new UserError("method irsde runs the steps its network was trained with: drop 'steps'");
    }
    const sr = task === "sr" || task === "sr-bicubic";
    const scale = sr ? _int(params, "scale", 4, 1, 8) : 1;
    // no steps: the serve option, else the model's own (per task, or IR-SDE's trained T)
    const steps = method === "ddnm" && (params.has("steps") || options.defaultSteps !== undefined)
      ? _int(params, "steps", options.defaultSteps ?? PREVIEW_STEPS, 1, maxSteps)
      : await modelSteps(method, task);
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
    const ddnmTask: DdnmTask = sr
      ? { name: task as "sr" | "sr-bicubic", scale }
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
    return { method, observed, task: ddnmTask, mask, steps, seed };
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
      const model = await takeModel(job.method);
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
        idle[job.method].push(model);
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
