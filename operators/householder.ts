/**
 * The small V of a one-row operator exactly as `torch.svd` (LAPACK) returns it.
 *
 * For a row r with â = r/‖r‖, V = I − 2wwᵀ/(wᵀw) with w = â + e₁ (a Householder reflection,
 * symmetric and orthogonal; its first column is −â), U = [−1], singular value ‖r‖.
 * docs/ddnm.md, "Operators": checked against torch to 1.2e-7.
 *
 * @module
 */

/** A Householder reflection V = I − 2wwᵀ/(wᵀw), applied in place to small vectors. */
export class Householder {
  /** The reflection vector w = â + e₁. */
  readonly w: Float64Array;
  /** 2 / (wᵀw). */
  readonly scale: number;
  /** ‖r‖, the single singular value. */
  readonly singular: number;

  /**
   * Build V for the row `r`.
   *
   * @param row The operator's single row.
   */
  constructor(row: ArrayLike<number>) {
    let norm2 = 0;
    for (let i = 0; i < row.length; i++) norm2 += row[i] * row[i];
    const norm = Math.sqrt(norm2);
    this.singular = norm;
    this.w = new Float64Array(row.length);
    for (let i = 0; i < row.length; i++) this.w[i] = row[i] / norm;
    this.w[0] += 1;
    let ww = 0;
    for (let i = 0; i < row.length; i++) ww += this.w[i] * this.w[i];
    this.scale = 2 / ww;
  }

  /**
   * v ← V v (V is symmetric, so this is also Vᵀ v).
   *
   * @param v The vector, modified in place.
   */
  apply(v: Float64Array): void {
    const w = this.w;
    let dot = 0;
    for (let i = 0; i < v.length; i++) dot += w[i] * v[i];
    const k = dot * this.scale;
    for (let i = 0; i < v.length; i++) v[i] -= k * w[i];
  }

  /**
   * The dense matrix V (row-major), for tests.
   *
   * @returns V.
   */
  matrix(): Float64Array {
    const n = this.w.length;
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        m[i * n + j] = (i === j ? 1 : 0) - this.scale * this.w[i] * this.w[j];
      }
    }
    return m;
  }
}
