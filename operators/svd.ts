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
 * keep the column order. u_i = A v_i / s_i (0 columns where s_i = 0). A wide matrix (m < n)
 * is decomposed through its transpose, which has only m columns to orthogonalise, and V is
 * completed with an orthonormal basis of the null space (Householder). The last few
 * decompositions are kept and returned again for an identical matrix: treat results as read-only.
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
  // the same 1-D matrix recurs (both axes of a square blur, every image of a batch): reuse it
  const hit = _memo.find((e) => e.m === m && e.n === n && _equal(e.a, a));
  if (hit) return hit.svd;
  const svd = m >= n ? _tallSvd(a, m, n) : _wideSvd(a, m, n);
  _memo.push({ m, n, a: Float64Array.from(a), svd });
  if (_memo.length > _MEMO_SIZE) _memo.shift();
  return svd;
}

/** Decompositions kept for reuse (results are read-only), oldest first. */
const _memo: { m: number; n: number; a: Float64Array; svd: Svd }[] = [];
const _MEMO_SIZE = 4;

function _equal(x: Float64Array, y: Float64Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function _wideSvd(a: Float64Array, m: number, n: number): Svd {
  // Aᵀ = U' S V'ᵀ, so A = V' S U'ᵀ: U = V', and U' gives the first m columns of V
  const at = new Float64Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j];
  const t = _tallSvd(at, n, m);
  const keep = _rank(t.s);
  const v = _complete(t.u, n, m, keep);
  const s = new Float64Array(n);
  s.set(t.s.subarray(0, m));
  return { m, n, s, u: t.v, v };
}

/** Singular values above the float64 noise floor of the largest one. */
function _rank(s: Float64Array): number {
  let k = 0;
  while (k < s.length && s[k] > 1e-13 * s[0]) k++;
  return k;
}

/**
 * An n x n orthonormal matrix whose first `keep` columns are those of `b` (n x cols,
 * orthonormal columns) and whose others span their orthogonal complement.
 */
function _complete(b: Float64Array, n: number, cols: number, keep: number): Float64Array {
  // Householder QR of the kept columns; Q's trailing columns are the complement
  const r = new Float64Array(n * keep);
  for (let i = 0; i < n; i++) for (let j = 0; j < keep; j++) r[j * n + i] = b[i * cols + j];
  const vs: Float64Array[] = [];
  for (let j = 0; j < keep; j++) {
    const col = r.subarray(j * n, (j + 1) * n);
    let norm = 0;
    for (let i = j; i < n; i++) norm += col[i] * col[i];
    norm = Math.sqrt(norm);
    const h = new Float64Array(n);
    for (let i = j; i < n; i++) h[i] = col[i];
    h[j] += col[j] >= 0 ? norm : -norm;
    let hh = 0;
    for (let i = j; i < n; i++) hh += h[i] * h[i];
    if (hh > 0) { for (let i = j; i < n; i++) h[i] /= Math.sqrt(hh); }
    vs.push(h);
    // apply the reflector to the remaining columns
    for (let c = j + 1; c < keep; c++) {
      const x = r.subarray(c * n, (c + 1) * n);
      let d = 0;
      for (let i = j; i < n; i++) d += h[i] * x[i];
      for (let i = j; i < n; i++) x[i] -= 2 * d * h[i];
    }
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < keep; j++) out[i * n + j] = b[i * cols + j];
  const e = new Float64Array(n);
  for (let c = keep; c < n; c++) {
    // Q e_c = H_0 H_1 ... H_{keep−1} e_c
    e.fill(0);
    e[c] = 1;
    for (let j = keep - 1; j >= 0; j--) {
      const h = vs[j];
      let d = 0;
      for (let i = j; i < n; i++) d += h[i] * e[i];
      if (d !== 0) { for (let i = j; i < n; i++) e[i] -= 2 * d * h[i]; }
    }
    for (let i = 0; i < n; i++) out[i * n + c] = e[i];
  }
  return out;
}

function _tallSvd(a: Float64Array, m: number, n: number): Svd {
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
