/**
 * A small dense SVD (one-sided Jacobi, float64) for the 1-D matrices of separable operators.
 *
 * @module
 */

/** A = U diag(s) Vᵀ with singular values descending; U is m x r, V is n x n (row-major). */
export interface Svd {
  /** Rows of A. */
  m: number;
  /** Columns of A. */
  n: number;
  /** Singular values, descending, length min(m, n) (then zeros to n for V's null space). */
  s: Float64Array;
  /** Left singular vectors as columns, m x min(m, n). */
  u: Float64Array;
  /** Right singular vectors as columns, n x n (complete). */
  v: Float64Array;
}

/**
 * The SVD of a dense m x n matrix (row-major) by Hestenes' one-sided Jacobi method.
 *
 * Columns are rotated until pairwise orthogonal; their norms are the singular values. Ties
 * keep the column order. u_i = A v_i / s_i (0 columns where s_i = 0).
 *
 * @example
 * ```ts
 * import { jacobiSvd } from "./svd.ts";
 * const r = jacobiSvd(new Float64Array([3, 0, 0, 4]), 2, 2);
 * console.log(r.s); // Float64Array [4, 3]
 * ```
 *
 * @param a The matrix, row-major.
 * @param m Rows.
 * @param n Columns.
 * @returns The decomposition.
 */
export function jacobiSvd(a: Float64Array, m: number, n: number): Svd {
  // work on columns: w = A (m x n) stored column-major for speed
  const w = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) w[j * m + i] = a[i * n + j];
  const v = new Float64Array(n * n); // column-major too
  for (let j = 0; j < n; j++) v[j * n + j] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        const po = p * m, qo = q * m;
        for (let k = 0; k < m; k++) {
          const x = w[po + k], y = w[qo + k];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let k = 0; k < m; k++) {
          const x = w[po + k], y = w[qo + k];
          w[po + k] = c * x - s * y;
          w[qo + k] = s * x + c * y;
        }
        const pv = p * n, qv = q * n;
        for (let k = 0; k < n; k++) {
          const x = v[pv + k], y = v[qv + k];
          v[pv + k] = c * x - s * y;
          v[qv + k] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let k = 0; k < m; k++) s += w[j * m + k] ** 2;
    return Math.sqrt(s);
  });
  const order = norms.map((_, j) => j).sort((i, j) => norms[j] - norms[i] || i - j);
  const r = Math.min(m, n);
  const sv = new Float64Array(n);
  const u = new Float64Array(m * r);
  const vOut = new Float64Array(n * n);
  order.forEach((j, col) => {
    sv[col] = norms[j];
    for (let k = 0; k < n; k++) vOut[k * n + col] = v[j * n + k];
    if (col < r && norms[j] > 0) {
      for (let k = 0; k < m; k++) u[k * r + col] = w[j * m + k] / norms[j];
    }
  });
  return { m, n, s: sv.subarray(0, n), u, v: vOut };
}
