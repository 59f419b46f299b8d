/**
 * The orthonormal 2-D DCT-II of image planes, in float64 (the built-in prior's basis).
 *
 * @module
 */

/**
 * The orthonormal DCT-II matrix D (n x n, row-major): D[k, j] = c_k cos(π (2j + 1) k / 2n),
 * c_0 = √(1/n), c_k = √(2/n). Its inverse is its transpose.
 *
 * @param n The size.
 * @returns The matrix.
 */
export function dctMatrix(n: number): Float64Array {
  const d = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const c = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let j = 0; j < n; j++) d[k * n + j] = c * Math.cos((Math.PI * (2 * j + 1) * k) / (2 * n));
  }
  return d;
}

/**
 * Forward (Y = D_H X D_Wᵀ) or inverse (X = D_Hᵀ Y D_W) 2-D DCT of one h x w plane.
 *
 * @param plane The values, row-major.
 * @param h Height.
 * @param w Width.
 * @param inverse Apply the inverse transform.
 * @param dh DCT matrix of size h (computed when omitted).
 * @param dw DCT matrix of size w (computed when omitted).
 * @returns A new plane.
 */
export function dct2(
  plane: ArrayLike<number>,
  h: number,
  w: number,
  inverse = false,
  dh: Float64Array = dctMatrix(h),
  dw: Float64Array = dctMatrix(w),
): Float64Array {
  // rows: T[i, k] = Σ_j X[i, j] Dw[k, j] (forward) or Σ_j X[i, j] Dw[j, k] (inverse)
  const tmp = new Float64Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let k = 0; k < w; k++) {
      let s = 0;
      for (let j = 0; j < w; j++) s += plane[i * w + j] * (inverse ? dw[j * w + k] : dw[k * w + j]);
      tmp[i * w + k] = s;
    }
  }
  const out = new Float64Array(h * w);
  for (let k = 0; k < h; k++) {
    for (let j = 0; j < w; j++) {
      let s = 0;
      for (let i = 0; i < h; i++) s += (inverse ? dh[i * h + k] : dh[k * h + i]) * tmp[i * w + j];
      out[k * w + j] = s;
    }
  }
  return out;
}
