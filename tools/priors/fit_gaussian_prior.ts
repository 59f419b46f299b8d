/**
 * Fits the built-in Gaussian prior on the photos in `assets/train/` and writes
 * `model/priors/gaussian_prior_params.ts`. Deterministic; run with
 * `deno run -A tools/priors/fit_gaussian_prior.ts`.
 *
 * Steps: the colour images (gray ones carry no colour statistics and are left out) in
 * [-1,1]; mean colour; PCA of the pixel colours for an orthonormal basis; mean-removed
 * 128x128 crops (stride 64) in that basis; their orthonormal DCT power, averaged in
 * log-spaced radial frequency bins; per channel, a least-squares fit in log power of
 * P(f) = A (f² + f0²)^(−α/2) + B.
 *
 * @module
 */

import { readImage } from "../../lib/image.ts";
import { dct2, dctMatrix } from "../../lib/dct.ts";
import type { GaussianPriorParams } from "../../model/priors/gaussian_prior.ts";

const CROP = 128;
const STRIDE = 64;
const F0 = 1 / 512;

/** Eigen-decomposition of a symmetric 3x3 matrix by Jacobi rotations (descending). */
function _eigSym3(m: number[][]): { values: number[]; vectors: number[][] } {
  const a = m.map((r) => r.slice());
  const v = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let sweep = 0; sweep < 50; sweep++) {
    for (let p = 0; p < 3; p++) {
      for (let q = p + 1; q < 3; q++) {
        if (Math.abs(a[p][q]) < 1e-15) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < 3; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < 3; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < 3; k++) {
          const vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => a[j][j] - a[i][i]);
  return {
    values: order.map((i) => a[i][i]),
    vectors: order.map((i) => {
      const vec = [v[0][i], v[1][i], v[2][i]];
      const big = vec.reduce((b, x) => (Math.abs(x) > Math.abs(b) ? x : b), 0);
      return vec.map((x) => (big < 0 ? -x : x)); // sign: largest component positive
    }),
  };
}

/** Fit log P = log(A (f² + f0²)^(−α/2) + B) by a coarse-to-fine grid search. */
function _fitSpectrum(
  f2: number[],
  power: number[],
): { amplitude: number; alpha: number; floor: number } {
  const loss = (la: number, alpha: number, lb: number) => {
    let s = 0;
    for (let i = 0; i < f2.length; i++) {
      const model = Math.exp(la) * Math.pow(f2[i] + F0 * F0, -alpha / 2) + Math.exp(lb);
      s += (Math.log(power[i]) - Math.log(model)) ** 2;
    }
    return s;
  };
  let best = { la: -8, alpha: 2, lb: -12, l: Infinity };
  let span = { la: 8, alpha: 1.5, lb: 8 };
  for (let round = 0; round < 8; round++) {
    const c = { ...best };
    for (let i = -6; i <= 6; i++) {
      for (let j = -6; j <= 6; j++) {
        for (let k = -6; k <= 6; k++) {
          const la = c.la + (i / 6) * span.la;
          const alpha = Math.max(0.2, c.alpha + (j / 6) * span.alpha);
          const lb = c.lb + (k / 6) * span.lb;
          const l = loss(la, alpha, lb);
          if (l < best.l) best = { la, alpha, lb, l };
        }
      }
    }
    span = { la: span.la / 3, alpha: span.alpha / 3, lb: span.lb / 3 };
  }
  return { amplitude: Math.exp(best.la), alpha: best.alpha, floor: Math.exp(best.lb) };
}

/**
 * Fit the prior's parameters on a set of colour images.
 *
 * @param paths Image files.
 * @returns The parameters.
 */
export async function fitGaussianPrior(paths: string[]): Promise<GaussianPriorParams> {
  const images = [];
  for (const p of paths) {
    const img = await readImage(p);
    if (img.channels === 3) images.push(img);
  }
  // mean and colour covariance in [-1,1]
  let count = 0;
  const sum = [0, 0, 0];
  const sq = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (const img of images) {
    const plane = img.width * img.height;
    for (let i = 0; i < plane; i++) {
      const v = [0, 1, 2].map((c) => 2 * img.pixels[c * plane + i] - 1);
      for (let a = 0; a < 3; a++) {
        sum[a] += v[a];
        for (let b = 0; b < 3; b++) sq[a][b] += v[a] * v[b];
      }
    }
    count += plane;
  }
  const mean = sum.map((s) => s / count) as [number, number, number];
  const cov = sq.map((r, a) => r.map((s, b) => s / count - mean[a] * mean[b]));
  const basis = _eigSym3(cov).vectors as [number, number, number][];
  // radial power spectrum of mean-removed crops in the colour basis
  const nb = 28;
  const edges = Array.from(
    { length: nb + 1 },
    (_, i) => Math.exp(Math.log(1 / 256) + (i / nb) * (Math.log(0.72) - Math.log(1 / 256))),
  );
  const acc = [0, 1, 2].map(() => ({
    p: new Float64Array(nb),
    f2: new Float64Array(nb),
    n: new Float64Array(nb),
  }));
  const dm = dctMatrix(CROP);
  for (const img of images) {
    const plane = img.width * img.height;
    for (let y0 = 0; y0 + CROP <= img.height; y0 += STRIDE) {
      for (let x0 = 0; x0 + CROP <= img.width; x0 += STRIDE) {
        for (let k = 0; k < 3; k++) {
          const crop = new Float64Array(CROP * CROP);
          let m = 0;
          for (let y = 0; y < CROP; y++) {
            for (let x = 0; x < CROP; x++) {
              const i = (y0 + y) * img.width + x0 + x;
              let v = 0;
              for (let c = 0; c < 3; c++) {
                v += basis[k][c] * (2 * img.pixels[c * plane + i] - 1 - mean[c]);
              }
              crop[y * CROP + x] = v;
              m += v;
            }
          }
          m /= CROP * CROP;
          for (let i = 0; i < crop.length; i++) crop[i] -= m;
          const coef = dct2(crop, CROP, CROP, false, dm, dm);
          for (let ky = 0; ky < CROP; ky++) {
            for (let kx = 0; kx < CROP; kx++) {
              if (ky === 0 && kx === 0) continue;
              const f2 = (ky / (2 * CROP)) ** 2 + (kx / (2 * CROP)) ** 2;
              const f = Math.sqrt(f2);
              const b = edges.findIndex((e, i) => i < nb && f >= e && f < edges[i + 1]);
              if (b < 0) continue;
              acc[k].p[b] += coef[ky * CROP + kx] ** 2;
              acc[k].f2[b] += f2;
              acc[k].n[b] += 1;
            }
          }
        }
      }
    }
  }
  const fits = acc.map((a) => {
    const f2: number[] = [], power: number[] = [];
    for (let b = 0; b < nb; b++) {
      if (a.n[b] > 0) {
        f2.push(a.f2[b] / a.n[b]);
        power.push(a.p[b] / a.n[b]);
      }
    }
    return _fitSpectrum(f2, power);
  });
  return {
    mean,
    basis,
    amplitude: fits.map((f) => f.amplitude) as [number, number, number],
    alpha: fits.map((f) => f.alpha) as [number, number, number],
    floor: fits.map((f) => f.floor) as [number, number, number],
    f0: F0,
  };
}

if (import.meta.main) {
  const dir = new URL("../../assets/train/", import.meta.url);
  const paths = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".png")).map((e) =>
    new URL(e.name, dir).pathname
  ).sort();
  const t0 = performance.now();
  const p = await fitGaussianPrior(paths);
  const r = (v: number) => Number(v.toPrecision(6));
  const fmt = (a: number[]) => `[${a.map(r).join(", ")}]`;
  const text =
    `// Generated by tools/priors/fit_gaussian_prior.ts on assets/train/ (colour images); do not edit.
import type { GaussianPriorParams } from "../../model/priors/gaussian_prior.ts";

/** The fitted parameters of the built-in Gaussian prior. */
export const GAUSSIAN_PRIOR_PARAMS: GaussianPriorParams = {
  mean: ${fmt(p.mean)},
  basis: [${p.basis.map(fmt).join(", ")}],
  amplitude: ${fmt(p.amplitude)},
  alpha: ${fmt(p.alpha)},
  floor: ${fmt(p.floor)},
  f0: ${p.f0},
};
`;
  await Deno.writeTextFile(
    new URL("../../model/priors/gaussian_prior_params.ts", import.meta.url),
    text,
  );
  console.log(text);
  console.log(`fitted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
