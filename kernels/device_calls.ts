/**
 * Zero-copy network calls: with the WebGPU backend and ONNX Runtime's WebGPU provider on the
 * same device, inputs and outputs stay on the GPU and no tensor crosses to the host between
 * steps.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import type { Model, ModelInputs } from "../model/model.ts";
import type { GpuOutput } from "../model/ort_runtime.ts";
import type { Tensor } from "../lib/tensor.ts";
import { WebGpuBackend } from "./webgpu_backend.ts";
import type { Backend } from "./backend.ts";

/** A network call that returns the output as a backend tensor. */
export interface DeviceCaller {
  /**
   * Call the network.
   *
   * @param inputs Inputs by role.
   * @param label Which call this is.
   * @returns The output (first C channels).
   */
  call(inputs: ModelInputs, label: string): Promise<Tensor>;
  /** After the run: fail, naming the step, when an output held NaN or Inf (one 4-byte readback). */
  finish(): Promise<void>;
  /** Whether calls stay on the GPU. */
  readonly zeroCopy: boolean;
}

/**
 * A caller for `model` on `backend`: zero-copy when both are on WebGPU, else host calls (the
 * image inputs are read back first).
 *
 * @param backend The tensor backend.
 * @param model The network.
 * @returns The caller.
 */
export function deviceCaller(backend: Backend, model: Model): DeviceCaller {
  if (!(backend instanceof WebGpuBackend) || !model.onDevice) {
    return {
      zeroCopy: false,
      call: async (inputs, label) => {
        for (const t of [inputs.x, inputs.mu, inputs.cond]) if (t) await backend.read(t);
        return await model.run(inputs, label);
      },
      finish: () => Promise.resolve(),
    };
  }
  const gpu = backend;
  let previous: GpuOutput | null = null;
  let step = 0;
  const labels: string[] = [];
  return {
    zeroCopy: true,
    call: async (inputs, label) => {
      // submit the work that read the previous output before ONNX Runtime may reuse its buffer
      gpu.flush();
      previous?.dispose();
      const out = await model.runOnDevice(inputs, (t) => gpu.bufferOf(t), label);
      previous = out;
      const [n, c, h, w] = inputs.x.shape;
      // a learned-sigma output keeps its first C channels at the start of the buffer (n = 1)
      const t = gpu.adopt(out.buffer, [n, c, h, w]);
      gpu.checkFinite(t, step++);
      labels.push(label);
      return t;
    },
    finish: async () => {
      const bad = await gpu.firstNonFinite();
      if (bad !== null) {
        throw new UserError(`${model.name}: the network returned NaN or Inf at ${labels[bad]}`);
      }
    },
  };
}
