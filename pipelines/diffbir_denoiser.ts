/**
 * DiffBIR's denoiser as its samplers call it: one network pass, whole or tiled (tiles cropped
 * on the backend, Gaussian-weighted outputs accumulated), and classifier-free guidance over the
 * conditional and unconditional passes (docs/diffbir.md). With the WebGPU backend and runtime,
 * latents, tiles and outputs never leave the device.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import type { TilePlan } from "../lib/tiling.ts";
import type { Backend } from "../kernels/backend.ts";
import type { DeviceCaller } from "../kernels/device_calls.ts";
import { cfgCombine } from "../samplers/spaced_ddpm.ts";
import type { TextContext } from "../model/prompt_encoder.ts";

/** What the denoiser passes share. */
export interface DiffbirDenoiserSetup {
  /** Where the per-step math runs. */
  backend: Backend;
  /** The network caller. */
  caller: DeviceCaller;
  /** The condition latent (read at each call: noise augmentation may replace it). */
  cond: () => Tensor;
  /** Control strength. */
  strength: number;
  /** The tiling plan in latent pixels, or null for whole-image calls. */
  plan: TilePlan | null;
  /** The conditional context. */
  context?: TextContext;
  /** The unconditional context: CFG runs when it is given and the scale is not 1. */
  negativeContext?: TextContext;
  /** The CFG scale. */
  cfg: number;
}

/**
 * A pass: the network's output turned by `keep` into what the sampler guides (in a tensor
 * that outlives the next call), for the conditional and, with CFG, the unconditional pass,
 * combined as u + s (c − u).
 */
export type GuidedPass = (
  x: Tensor,
  t: number,
  label: string,
  keep: (output: Tensor, unconditional: boolean) => Tensor,
  scale: number,
) => Promise<Tensor>;

/**
 * The guided pass of a DiffBIR run.
 *
 * @param d The denoiser's setup.
 * @returns The pass, and whether CFG is on.
 */
export function diffbirGuidedPass(d: DiffbirDenoiserSetup): { pass: GuidedPass; cfgOn: boolean } {
  const { backend, caller, plan, strength } = d;
  // the accumulator and the tile buffers, allocated at the first tiled call
  let tiles: { sum: Tensor; x: Tensor; cond: Tensor } | null = null;
  const call = async (
    x: Tensor,
    t: number,
    context: TextContext | undefined,
    label: string,
  ): Promise<Tensor> => {
    const cond = d.cond();
    if (!plan) return await caller.call({ x, t, cond, context, strength }, label);
    const acc = tiles ??= {
      sum: Tensor.zeros(x.shape),
      x: Tensor.zeros([x.n, x.c, plan.th, plan.tw]),
      cond: Tensor.zeros([cond.n, cond.c, plan.th, plan.tw]),
    };
    backend.combine(acc.sum, [[0, acc.sum]]);
    for (const o of plan.origins) {
      const out = await caller.call({
        x: backend.crop(acc.x, x, o.y, o.x),
        t,
        cond: backend.crop(acc.cond, cond, o.y, o.x),
        context,
        strength,
      }, label);
      backend.accumulate(acc.sum, out, plan.weights, o.y, o.x);
    }
    return backend.mulMap(Tensor.zeros(x.shape), acc.sum, plan.inverseWeightSum);
  };
  const cfgOn = d.cfg !== 1 && !!d.negativeContext;
  const pass: GuidedPass = async (x, t, label, keep, scale) => {
    const c = keep(await call(x, t, d.context, label), false);
    if (!cfgOn) return c;
    const u = keep(await call(x, t, d.negativeContext, `${label} (unconditional)`), true);
    return cfgCombine(backend, c, u, scale);
  };
  return { pass, cfgOn };
}
