/**
 * The Mask-Shift trick of DDNM's hq_demo: restore an image larger than a fixed-size model
 * window by window, pasting the already finished overlap into x̂0 at every step.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import { cropTile } from "../lib/tiling.ts";

/** One window: its origin and size on the canvas, and its grid position. */
export interface Window {
  /** Top row. */
  y: number;
  /** Left column. */
  x: number;
  /** Window height (the model's). */
  h: number;
  /** Window width. */
  w: number;
  /** Row index in the window grid. */
  row: number;
  /** Column index. */
  col: number;
}

function _origins(total: number, size: number): number[] {
  if (total <= size) return [0];
  const stride = size / 2;
  const n = Math.ceil(total / stride) - 1;
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(Math.min(stride * k, total - size)); // the last one snaps to the border
  return out;
}

/**
 * Mask-Shift windows over an H x W canvas for a model of size [mh, mw]: stride half the
 * model size, ceil(H/stride) − 1 rows (likewise columns), the last row and column snapped to
 * end at the border, in row-major order (docs/ddnm.md, "Mask-Shift").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskShiftWindows } from "@diffrestore/sampler/samplers";
 *
 * const w = maskShiftWindows(512, 300, 256, 256);
 * assert.equal(w.length, 6); // 3 rows x 2 columns, overlapping
 * assert.deepEqual([w[5].y + w[5].h, w[5].x + w[5].w], [512, 300]);
 * ```
 *
 * @param height H.
 * @param width W.
 * @param mh Model height.
 * @param mw Model width.
 * @returns The windows.
 */
export function maskShiftWindows(height: number, width: number, mh: number, mw: number): Window[] {
  if (height < mh || width < mw) {
    throw new RangeError(`image ${width}x${height} is smaller than the model's ${mw}x${mh}`);
  }
  const ys = _origins(height, mh), xs = _origins(width, mw);
  const out: Window[] = [];
  ys.forEach((y, row) => xs.forEach((x, col) => out.push({ y, x, h: mh, w: mw, row, col })));
  return out;
}

/**
 * Copy a window out of a planar canvas.
 *
 * @param canvas Planar values, `channels` planes of `height` x `width`.
 * @param channels C.
 * @param height Canvas height.
 * @param width Canvas width.
 * @param win The window.
 * @returns The window's values, planar.
 */
export function cropWindow(
  canvas: Float32Array,
  channels: number,
  height: number,
  width: number,
  win: Window,
): Float32Array {
  const whole = new Tensor([1, channels, height, width], canvas);
  return cropTile(Tensor.zeros([1, channels, win.h, win.w]), whole, win.y, win.x).data;
}

/**
 * Write a window's values into the canvas where `where(i, j)` allows (all when omitted).
 *
 * @param canvas Planar canvas, modified.
 * @param channels C.
 * @param height Canvas height.
 * @param width Canvas width.
 * @param win The window.
 * @param values The window's values, planar.
 */
export function pasteWindow(
  canvas: Float32Array,
  channels: number,
  height: number,
  width: number,
  win: Window,
  values: Float32Array,
): void {
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < win.h; i++) {
      const dst = c * height * width + (win.y + i) * width + win.x;
      canvas.set(
        values.subarray(c * win.h * win.w + i * win.w, c * win.h * win.w + (i + 1) * win.w),
        dst,
      );
    }
  }
}

/**
 * Overwrite the already finished part of a window's x̂0 with the canvas (the left and top
 * overlap bands, whose union is what earlier windows finished).
 *
 * @param x0hat The window's x̂0, planar, modified.
 * @param canvas The canvas.
 * @param finished 1 where the canvas pixel is final, per canvas pixel.
 * @param channels C.
 * @param height Canvas height.
 * @param width Canvas width.
 * @param win The window.
 */
export function pasteFinished(
  x0hat: Float32Array,
  canvas: Float32Array,
  finished: Uint8Array,
  channels: number,
  height: number,
  width: number,
  win: Window,
): void {
  const plane = win.h * win.w;
  for (let i = 0; i < win.h; i++) {
    for (let j = 0; j < win.w; j++) {
      const p = (win.y + i) * width + win.x + j;
      if (!finished[p]) continue;
      for (let c = 0; c < channels; c++) {
        x0hat[c * plane + i * win.w + j] = canvas[c * height * width + p];
      }
    }
  }
}
