// IR-SDE sampler overhead per step (everything but the network) at 512x512 for each solver,
// on the CPU backend and (when an adapter exists) the WebGPU backend; the network is replaced
// by a constant. Run: deno run -A tests/bench/irsde_overhead.ts
import { CpuBackend } from "../../kernels/cpu_backend.ts";
import { WebGpuBackend } from "../../kernels/webgpu_backend.ts";
import type { Backend } from "../../kernels/backend.ts";
import { GaussianNoise } from "../../lib/noise.ts";
import { Tensor } from "../../lib/tensor.ts";
import { gpuAdapter } from "../../lib/gpu.ts";
import { irsdeSchedule } from "../../schedules/irsde_schedule.ts";
import { irsdeSample, type NoisePredictor } from "../../samplers/irsde.ts";
import { randomValues } from "../_graphs.ts";

const size = Number(Deno.env.get("SIZE") ?? 512);
const s = irsdeSchedule({ maxSigma: 10, T: 100, schedule: "cosine", eps: 0.005 });
const n = 3 * size * size;
const eps = new Tensor([1, 3, size, size], randomValues(n, 1));
const mu = new Tensor([1, 3, size, size], randomValues(n, 2).map((v) => 0.5 + 0.3 * v));
const constant: NoisePredictor = () => Promise.resolve(eps);
const backends: Backend[] = [new CpuBackend()];
if (await gpuAdapter()) backends.push(await WebGpuBackend.create());
console.log(`IR-SDE sampler overhead per step, ${size}x${size}, T = 100 (median of 3)`);
for (const backend of backends) {
  for (const solver of ["sde", "ode", "posterior"] as const) {
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      // with a progress hook, as the CLI runs it (no x0 estimates: those only with --save-every)
      const out = await irsdeSample({
        predict: constant,
        backend,
        mu,
        schedule: s,
        noise: new GaussianNoise(r),
        hooks: {
          onStep: () => {},
        },
        settings: { solver },
      });
      await backend.read(out);
      times.push((performance.now() - t0) / 100);
    }
    times.sort((a, b) => a - b);
    const name = backend instanceof WebGpuBackend
      ? `webgpu (${backend.adapterName.split(" ")[0]})`
      : "cpu";
    console.log(`${name.padEnd(18)} ${solver.padEnd(10)} ${times[1].toFixed(2)} ms/step`);
  }
}
