import assert from "node:assert/strict";
import {
  cropWindow,
  maskShiftWindows,
  pasteFinished,
  pasteWindow,
} from "../samplers/mask_shift.ts";

Deno.test("Mask-Shift windows: (ceil(H/128)−1)(ceil(W/128)−1), stride 128, last snapped, row-major", () => {
  for (const [h, w] of [[256, 256], [512, 512], [300, 700], [1024, 1024], [257, 384]]) {
    const ws = maskShiftWindows(h, w, 256, 256);
    assert.equal(ws.length, (Math.ceil(h / 128) - 1) * (Math.ceil(w / 128) - 1), `${h}x${w}`);
    // covers every pixel, stays inside, row-major
    const cover = new Uint8Array(h * w);
    ws.forEach((win, k) => {
      assert.ok(win.y + 256 <= h && win.x + 256 <= w);
      if (k > 0) {
        assert.ok(
          win.row > ws[k - 1].row || (win.row === ws[k - 1].row && win.col === ws[k - 1].col + 1),
        );
      }
      for (let i = 0; i < 256; i++) {
        cover.fill(1, (win.y + i) * w + win.x, (win.y + i) * w + win.x + 256);
      }
    });
    assert.ok(cover.every((c) => c === 1), `${h}x${w} covered`);
  }
  const odd = maskShiftWindows(300, 300, 256, 256);
  assert.deepEqual(odd.map((x) => [x.y, x.x]), [[0, 0], [0, 44], [44, 0], [44, 44]]);
  assert.throws(() => maskShiftWindows(200, 300, 256, 256));
});

Deno.test("Mask-Shift pasting: crop/paste round trip, finished pixels override x̂0", () => {
  const c = 2, h = 6, w = 8;
  const canvas = Float32Array.from({ length: c * h * w }, (_, i) => i);
  const win = { y: 2, x: 3, h: 4, w: 4, row: 1, col: 1 };
  const crop = cropWindow(canvas, c, h, w, win);
  assert.equal(crop[0], canvas[2 * w + 3]);
  assert.equal(crop[16], canvas[h * w + 2 * w + 3]);
  const copy = new Float32Array(canvas.length);
  pasteWindow(copy, c, h, w, win, crop);
  assert.equal(copy[5 * w + 6], canvas[5 * w + 6]);
  const finished = new Uint8Array(h * w);
  finished[2 * w + 3] = 1; // the top-left pixel of the window is final
  const x0hat = new Float32Array(2 * 16).fill(-1);
  pasteFinished(x0hat, canvas, finished, c, h, w, win);
  assert.equal(x0hat[0], canvas[2 * w + 3]);
  assert.equal(x0hat[16], canvas[h * w + 2 * w + 3]);
  assert.equal(x0hat[1], -1);
});
