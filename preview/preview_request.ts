/**
 * A preview request parsed: its query (task, method, scale, steps, seed) checked, its body (image
 * bytes, or multipart with `image` and `mask`) decoded and fitted so the output's long side is at
 * most the preview size. Each problem is a {@linkcode UserError} (a 400).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { type DecodedImage, decodeImage, imageToTensor } from "../lib/image.ts";
import { Tensor } from "../lib/tensor.ts";
import type { DdnmTask } from "../operators/ddnm_tasks.ts";
import { PREVIEW_STEPS, readCapped } from "./limits.ts";

// sr-bicubic first: it is what real low-resolution photos are (sr is DDNM's average pooling)
const _TASKS = ["sr-bicubic", "sr", "colorize", "denoise", "inpaint"] as const;

/** The limits a request is held to. */
export interface RequestLimits {
  /** Largest body in bytes. */
  maxBody: number;
  /** Largest decoded image in pixels. */
  maxPixels: number;
  /** Long side of the output in pixels. */
  maxSide: number;
  /** Largest `steps`. */
  maxSteps: number;
  /** `steps` when the request gives none (else the model's own). */
  defaultSteps?: number;
}

/** A parsed preview request: the method, the observation fitted to the preview size, the task. */
export interface PreviewJob {
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

/** The image and the optional mask of a body: raw image bytes, or multipart fields. */
async function _bodyParts(
  req: Request,
  maxBody: number,
): Promise<{ imageBytes: Uint8Array; maskBytes: Uint8Array | null }> {
  const body = await readCapped(req, maxBody);
  const contentType = req.headers.get("content-type") ?? "";
  // lower case for matching only: the multipart boundary is case-sensitive
  if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
    return { imageBytes: body, maskBytes: null };
  }
  const form = await new Request("http://local/", {
    method: "POST",
    headers: { "content-type": contentType },
    body: body as Uint8Array<ArrayBuffer>,
  }).formData()
    .catch(() => {
      throw new UserError("malformed multipart body");
    });
  const image = form.get("image"), mask = form.get("mask");
  if (!(image instanceof Blob)) throw new UserError("multipart body needs a file field 'image'");
  return {
    imageBytes: new Uint8Array(await image.arrayBuffer()),
    maskBytes: mask instanceof Blob ? new Uint8Array(await mask.arrayBuffer()) : null,
  };
}

/**
 * Parse and check a preview request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePreviewRequest } from "./preview_request.ts";
 * import { encodePng } from "../lib/png.ts";
 *
 * const png = encodePng(new Float32Array(3 * 64 * 32).fill(0.5), 64, 32, 3);
 * const req = new Request("http://x/v1/restore?task=sr&scale=2", { method: "POST", body: png });
 * const limits = { maxBody: 1e6, maxPixels: 1e6, maxSide: 64, maxSteps: 50 };
 * const job = await parsePreviewRequest(req, new URL(req.url), limits, () => Promise.resolve(8));
 * assert.deepEqual([job.observed.w, job.observed.h, job.steps], [32, 16, 8]);
 * ```
 *
 * @param req The request.
 * @param url Its URL.
 * @param limits The limits.
 * @param modelSteps The steps a method's model runs by default for a task.
 * @returns The job.
 */
export async function parsePreviewRequest(
  req: Request,
  url: URL,
  limits: RequestLimits,
  modelSteps: (method: PreviewJob["method"], task: string) => Promise<number>,
): Promise<PreviewJob> {
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
  const steps = method === "ddnm" && (params.has("steps") || limits.defaultSteps !== undefined)
    ? _int(params, "steps", limits.defaultSteps ?? PREVIEW_STEPS, 1, limits.maxSteps)
    : await modelSteps(method, task);
  const seed = _int(params, "seed", 0, 0, 2 ** 31 - 1);
  const { imageBytes, maskBytes } = await _bodyParts(req, limits.maxBody);
  if (imageBytes.length === 0) throw new UserError("the request has no image");
  const decoded = decodeImage(imageBytes, "image", { maxPixels: limits.maxPixels });
  // the output's long side is at most maxSide: the input is fitted first
  const input = fitWithin(imageToTensor(decoded), Math.floor(limits.maxSide / scale));
  let mask: Uint8Array | undefined;
  if (task === "inpaint") {
    const source = maskBytes
      ? decodeImage(maskBytes, "mask", { maxPixels: limits.maxPixels })
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
}
