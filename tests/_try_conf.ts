import { loadModel } from "../lib/builtin_models.ts";
import { imageToTensor, readImage } from "../lib/image.ts";
import { decodeNpy } from "../lib/npy.ts";
import { ArrayNoise } from "../lib/noise.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { averagePoolSr } from "../samplers/operators/row_block_operator.ts";
import { inpainting } from "../samplers/operators/masking.ts";
import { DDNM_DEFAULTS, ddnmSample } from "../samplers/ddnm.ts";
import { alphaBarFloat32, betaSchedule } from "../samplers/beta_schedule.ts";
import { maxAbsDiff, meanAbsDiff } from "../lib/tensor.ts";
const C = "/work/shared/conformance";
const model = await loadModel(`${C}/models/tiny_eps.onnx`, { runtime: "native" });
const ab = alphaBarFloat32(betaSchedule("linear"));
const predict = (x: any, t: number, l: string) => model.run({ x, t }, l);
{
  const lq = imageToTensor(await readImage(`${C}/ddnm_sr4/lq.png`), 3).toRange([-1, 1]);
  const op = averagePoolSr(3, lq.h * 4, lq.w * 4, 4);
  const noise = decodeNpy(await Deno.readFile(`${C}/ddnm_sr4/noise.npy`));
  const out = await ddnmSample(
    predict,
    new CpuBackend(),
    op,
    op.observe(lq),
    ab,
    new ArrayNoise(noise.data, "n"),
    { ...DDNM_DEFAULTS, steps: 20 },
  );
  const ref = decodeNpy(await Deno.readFile(`${C}/ddnm_sr4/ref.npy`));
  const img = out.fromRange([-1, 1]);
  console.log("sr4", noise.shape, maxAbsDiff(img.data, ref.data), meanAbsDiff(img.data, ref.data));
}
{
  const lq = imageToTensor(await readImage(`${C}/ddnm_inpaint_travel/lq.png`), 3).toRange([-1, 1]);
  const m = await readImage(`${C}/ddnm_inpaint_travel/mask.png`);
  const mask = new Uint8Array(m.width * m.height).map((_, i) => m.pixels[i] >= 128 / 255 ? 1 : 0);
  const op = inpainting(3, lq.h, lq.w, mask);
  const noise = decodeNpy(await Deno.readFile(`${C}/ddnm_inpaint_travel/noise.npy`));
  const out = await ddnmSample(
    predict,
    new CpuBackend(),
    op,
    op.observe(lq),
    ab,
    new ArrayNoise(noise.data, "n"),
    { ...DDNM_DEFAULTS, steps: 16, travelLength: 4, travelRepeat: 2 },
  );
  const ref = decodeNpy(await Deno.readFile(`${C}/ddnm_inpaint_travel/ref.npy`));
  const img = out.fromRange([-1, 1]);
  console.log(
    "inpaint",
    noise.shape,
    maxAbsDiff(img.data, ref.data),
    meanAbsDiff(img.data, ref.data),
  );
}
