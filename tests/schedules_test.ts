import assert from "node:assert/strict";
import {
  alphaBar,
  alphaBarAt,
  alphaBarFloat32,
  betaSchedule,
  betasFromAlphaBar,
  rescaleZeroTerminalSnr,
} from "../schedules/beta_schedule.ts";
import { ddnmStride, ddnmTransitions, timeTravelSchedule } from "../schedules/ddnm_schedule.ts";
import { pythonRound, respacedSchedule, spaceTimesteps } from "../schedules/respacing.ts";
import { irsdeSchedule } from "../schedules/irsde_schedule.ts";

function close(actual: number, expected: number, rel: number, what: string) {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-30);
  assert.ok(
    err <= rel,
    `${what}: expected ${expected}, got ${actual} (rel err ${err.toExponential(2)})`,
  );
}

Deno.test("DDNM alpha-bar: reference values and abar(-1) = 1", () => {
  const table = alphaBarFloat32(betaSchedule("linear", { betaStart: 1e-4, betaEnd: 0.02 }));
  assert.equal(alphaBarAt(table, -1), 1);
  close(alphaBarAt(table, 990), 4.83705e-5, 2e-5, "abar(990)");
  close(alphaBarAt(table, 999), 4.03583e-5, 2e-5, "abar(999)");
  close(alphaBarAt(table, 0), 1 - 1e-4, 1e-7, "abar(0)");
  // float32 table agrees with the float64 product to float32 precision
  const ab64 = alphaBar(betaSchedule("linear"));
  for (let t = 0; t < 1000; t += 37) close(table[t], ab64[t], 2e-6, `abar(${t})`);
});

Deno.test("DDNM time-travel schedule matches the reference lists", () => {
  const plain = timeTravelSchedule(100, 1, 1);
  assert.equal(plain.length, 101);
  assert.deepEqual(plain, [...Array.from({ length: 100 }, (_, i) => 99 - i), -1]);
  assert.deepEqual(
    timeTravelSchedule(10, 2, 2),
    [9, 8, 7, 6, 7, 8, 7, 6, 5, 4, 5, 6, 5, 4, 3, 2, 3, 4, 3, 2, 1, 0, 1, 2, 1, 0, -1],
  );
  const long = timeTravelSchedule(100, 2, 2);
  assert.equal(long.length, 297);
  for (const [T, L, r] of [[100, 2, 2], [10, 2, 2], [16, 4, 2], [20, 3, 5]]) {
    const ts = timeTravelSchedule(T, L, r);
    assert.equal(ts[0], T - 1);
    assert.equal(ts.at(-1), -1);
    for (let k = 1; k < ts.length; k++) assert.equal(Math.abs(ts[k] - ts[k - 1]), 1);
    assert.ok(ts.every((t) => t >= -1 && t <= T));
  }
  const calls = (ts: number[]) => ts.slice(1).filter((t, k) => t < ts[k]).length;
  assert.equal(calls(timeTravelSchedule(10, 2, 2)), 18);
  assert.equal(calls(long), 198);
});

Deno.test("DDNM stride and transitions: first step 990 for 100 steps, last to -1", () => {
  assert.equal(ddnmStride(100), 10);
  assert.equal(ddnmStride(7), 142);
  const tr = ddnmTransitions(100);
  assert.equal(tr.length, 100);
  assert.deepEqual(tr[0], { from: 990, to: 980, denoise: true });
  assert.deepEqual(tr.at(-1), { from: 0, to: -1, denoise: true });
  const travel = ddnmTransitions(10, 2, 2);
  assert.equal(travel.length, 26);
  assert.equal(travel.filter((t) => t.denoise).length, 18);
  assert.deepEqual(travel[3], { from: 600, to: 700, denoise: false });
});

Deno.test("DiffBIR scaled-linear schedule endpoints and zero-terminal-SNR rescale", () => {
  const betas = betaSchedule("scaled_linear", { betaStart: 0.00085, betaEnd: 0.012 });
  close(betas[0], 0.00085, 1e-12, "beta_0");
  close(betas[999], 0.012, 1e-12, "beta_999");
  const ab = alphaBar(betas);
  close(ab[999], 0.0046600985, 1e-7, "abar_999");
  const z = rescaleZeroTerminalSnr(ab);
  assert.equal(z[999], 0);
  close(z[0], 0.99915, 1e-12, "zsnr abar_0");
  close(z[998], 1.968e-7, 2e-3, "zsnr abar_998");
  const zb = betasFromAlphaBar(z);
  assert.equal(zb[999], 1);
  close(alphaBar(zb)[500], z[500], 1e-12, "betas round trip");
});

Deno.test("pythonRound ties to even, space_timesteps matches IDDPM", () => {
  assert.equal(pythonRound(0.5), 0);
  assert.equal(pythonRound(1.5), 2);
  assert.equal(pythonRound(2.5), 2);
  assert.ok(pythonRound(-0.5) === 0);
  assert.equal(pythonRound(2.4999), 2);
  const s50 = spaceTimesteps(1000, "50");
  assert.equal(s50.length, 50);
  assert.deepEqual(s50.slice(0, 8), [0, 20, 41, 61, 82, 102, 122, 143]);
  assert.deepEqual(s50.slice(-4), [938, 958, 979, 999]);
  assert.deepEqual(spaceTimesteps(1000, "10"), Array.from({ length: 10 }, (_, k) => 111 * k));
  assert.deepEqual(spaceTimesteps(1000, "7"), [0, 166, 333, 500, 666, 832, 999]);
  // the N where JavaScript's Math.round would differ (docs/diffbir.md, "Samplers")
  const differs: number[] = [];
  for (let n = 2; n <= 100; n++) {
    const frac = 999 / (n - 1);
    let cur = 0;
    let jsDiff = false;
    for (let k = 0; k < n; k++) {
      if (Math.round(cur) !== pythonRound(cur)) jsDiff = true;
      cur += frac;
    }
    if (jsDiff) differs.push(n);
  }
  assert.deepEqual(differs, [7, 13, 19, 25, 31, 37, 49, 55, 67, 73, 75, 97]);
  assert.deepEqual(spaceTimesteps(1000, "ddim50").slice(0, 3), [0, 20, 40]);
  assert.deepEqual(spaceTimesteps(100, "10,5").length, 15);
});

Deno.test("respaced posterior: coef1_0 = 1, coef2_0 = 0, var_0 = 0", () => {
  const ab = alphaBar(betaSchedule("scaled_linear", { betaStart: 0.00085, betaEnd: 0.012 }));
  for (const n of ["50", "10", "7"]) {
    const s = respacedSchedule(ab, spaceTimesteps(1000, n));
    close(s.coef1[0], 1, 1e-12, "coef1_0");
    assert.ok(Math.abs(s.coef2[0]) < 1e-15);
    assert.ok(Math.abs(s.variance[0]) < 1e-15);
    // the respaced cumulative product lands on the original abar at every used step
    s.timesteps.forEach((t, k) => close(s.alphaBar[k], ab[t], 1e-10, `abar at ${t}`));
  }
});

Deno.test("IR-SDE cosine schedule: reference numbers of docs/irsde.md", () => {
  const s = irsdeSchedule({ maxSigma: 10, T: 100, schedule: "cosine", eps: 0.005 });
  close(s.theta[0], 6.14285e-4, 2e-5, "theta_0");
  close(s.theta[1], 1.69456e-3, 2e-5, "theta_1");
  close(s.theta[100], 0.999767, 1e-6, "theta_100");
  close(s.thetaBar[100], 50.8994, 1e-6, "thetaBar_100");
  close(s.dt, 0.104094, 5e-6, "dt");
  close(s.lambda, 0.0392157, 1e-6, "lambda");
  close(s.sigmaBar[1], 7.36525e-4, 2e-5, "sigmaBar_1");
  close(s.sigmaBar[100], 0.0392152, 1e-6, "sigmaBar_100");
  assert.equal(s.sigmaBar[0], 0);
  assert.equal(s.thetaBar[0], 0);
  close(Math.exp(-s.thetaBar[100] * s.dt), 0.005, 1e-5, "exp(-thetaBar_T dt)");
  close(s.sigmaBar[100], s.lambda * Math.sqrt(1 - 0.005 ** 2), 1e-6, "sigmaBar_T");
  for (let i = 1; i <= 100; i++) {
    close(s.sigma[i] ** 2, 2 * s.lambda ** 2 * s.theta[i], 1e-5, `sigma_${i}^2`);
    close(s.thetaBar[i] - s.thetaBar[i - 1], s.theta[i], 2e-4, `thetaBar step ${i}`);
  }
});

Deno.test("IR-SDE linear and constant schedules: dt reference numbers", () => {
  const lin = irsdeSchedule({ maxSigma: 10, T: 100, schedule: "linear", eps: 0.005 });
  close(lin.thetaBar[100], 10.049, 1e-4, "linear thetaBar_100");
  close(lin.dt, 0.527248, 1e-5, "linear dt");
  const con = irsdeSchedule({ maxSigma: 0.1, T: 100, schedule: "constant", eps: 0.005 });
  close(con.dt, 0.0529832, 1e-5, "constant dt");
  assert.equal(con.lambda, 0.1);
});
