/**
 * The mean of several posterior samples: an estimate of the posterior mean, the restoration with
 * the least expected squared error (docs/ddnm.md, "Averaging samples"). Each sample draws its
 * noise after the previous one's, from the same source.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import type { SamplerHooks } from "./sampler_run.ts";

/**
 * Run a sampler `samples` times and return the element-wise mean of the results; one sample
 * returns the sampler's own result. Progress counts the steps of every sample in one total.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanOfSamples } from "@diffrestore/sampler/samplers";
 * import { Tensor } from "@diffrestore/sampler";
 *
 * let k = 0;
 * const sampleOnce = () => Promise.resolve(new Tensor([1, 1, 1, 2], Float32Array.of(k++, 10)));
 * const mean = await meanOfSamples(4, sampleOnce, {}, (t) => Promise.resolve(t));
 * assert.deepEqual(Array.from(mean.data), [1.5, 10]); // (0 + 1 + 2 + 3) / 4
 * ```
 *
 * @param samples How many samples (an integer >= 1).
 * @param sampleOnce One sampler run with the hooks it is given.
 * @param hooks The run's hooks (progress, cancellation, projection).
 * @param read Make a result's host copy current (the backend's `read`).
 * @returns The mean.
 */
export async function meanOfSamples(
  samples: number,
  sampleOnce: (hooks: SamplerHooks) => Promise<Tensor>,
  hooks: SamplerHooks,
  read: (t: Tensor) => Promise<Tensor>,
): Promise<Tensor> {
  if (samples === 1) return sampleOnce(hooks);
  const onStep = hooks.onStep;
  let sum: Float64Array | null = null;
  let out: Tensor | null = null;
  for (let k = 0; k < samples; k++) {
    out = await read(
      await sampleOnce({
        ...hooks,
        onStep: onStep &&
          ((p) => onStep({ ...p, step: k * p.total + p.step, total: samples * p.total })),
      }),
    );
    sum ??= new Float64Array(out.data.length);
    for (let i = 0; i < sum.length; i++) sum[i] += out.data[i];
  }
  return new Tensor(out!.shape, Float32Array.from(sum!, (v) => v / samples));
}
