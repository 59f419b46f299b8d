// DDNM sampler overhead per step (everything but the network call) at 256x256 on the CPU
// backend, SR x4, for DDNM (σ_y = 0) and DDNM+ (σ_y > 0); the network is replaced by a
// constant ε so only the sampler's own work is timed. Run: deno run -A tests/bench/ddnm_overhead.ts
import { CpuBackend } from "../../kernels/cpu_backend.ts";
import { GaussianNoise } from "../../lib/noise.ts";
import { Tensor } from "../../lib/tensor.ts";
import { alphaBarFloat32, betaSchedule } from "../../schedules/beta_schedule.ts";
import { DDNM_DEFAULTS, ddnmSample, type EpsPredictor } from "../../samplers/ddnm.ts";
import { buildOperator, type DdnmTask } from "../../operators/ddnm_tasks.ts";
import { randomValues } from "../_graphs.ts";

const size = Number(Deno.env.get("SIZE") ?? 256);
const steps = 100;
const ab = alphaBarFloat32(betaSchedule("linear"));
const eps = new Tensor([1, 3, size, size], randomValues(3 * size * size, 1));
const constant: EpsPredictor = () => Promise.resolve(eps);
const tasks: [string, DdnmTask, number][] = [
  ["DDNM  sr x4", { name: "sr", scale: 4 }, 0],
  ["DDNM+ sr x4", { name: "sr", scale: 4 }, 0.1],
  ["DDNM  inpaint", { name: "inpaint" }, 0],
  ["DDNM  colorize", { name: "colorize" }, 0],
  ["DDNM+ colorize", { name: "colorize" }, 0.1],
];
const mask = new Uint8Array(size * size).map((_, i) => (i % 5 ? 1 : 0));
console.log(
  `DDNM sampler overhead per step, ${size}x${size}, ${steps} steps, CPU backend (median of 3 runs)`,
);
for (const [name, task, sigmaY] of tasks) {
  const op = buildOperator(task, 3, size, size, "svd", mask);
  const y = op.A(randomValues(3 * size * size, 2));
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await ddnmSample({
      predict: constant,
      backend: new CpuBackend(),
      operator: op,
      y,
      schedule: ab,
      noise: new GaussianNoise(r),
      settings: {
        ...DDNM_DEFAULTS,
        steps,
        sigmaY,
      },
    });
    times.push((performance.now() - t0) / steps);
  }
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(16)} ${times[1].toFixed(2)} ms/step`);
}
const state = 3 * size * size * 4;
console.log(
  `state-sized buffers the loop allocates: 4 (x, x0, x̂0, z) = ${
    (4 * state / 1e6).toFixed(1)
  } MB; peak RSS ${(Deno.memoryUsage().rss / 1e6).toFixed(0)} MB`,
);
