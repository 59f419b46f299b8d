/**
 * Dense float64 matrix products for the CPU operators (separable blur and bicubic SR, block
 * CS): a WebAssembly SIMD kernel with 4x4 register blocks over packed panels, and the plain
 * TypeScript loop it is tested against. Both add each output's products in ascending k from 0,
 * one rounding per multiply and per add, so they give the same bits.
 *
 * @module
 */

import {
  lazyWasm,
  WASM_TYPE,
  type WasmExpr,
  WasmLocals,
  wasmModule,
  type WasmType,
  wDoWhile,
  wGet,
  wI32,
  wI32Op,
  wLoad,
  wLoadSplat64,
  wSet,
  wSimd,
  wStore,
  wTee,
  wV128,
} from "./wasm_emit.ts";

const _ADD = 0x6a, _SUB = 0x6b, _MUL = 0x6c;
const _F64X2_ADD = 0xf0, _F64X2_MUL = 0xf2;
/** Below this many multiply-adds the copies into WebAssembly memory cost more than they save. */
const _WASM_MIN_WORK = 1 << 15;

/**
 * C · B (rows x inner times inner x cols, row-major), each output a sum over k in ascending
 * order, four rows at a time so that each row of B is read once per four.
 *
 * @param c Left matrix.
 * @param rows Its rows.
 * @param inner Its columns (B's rows).
 * @param b Right matrix.
 * @param cols Its columns.
 * @returns The product, row-major.
 */
export function matmulScalar(
  c: Float64Array,
  rows: number,
  inner: number,
  b: Float64Array,
  cols: number,
): Float64Array {
  const out = new Float64Array(rows * cols);
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const o0 = i * cols, o1 = o0 + cols, o2 = o1 + cols, o3 = o2 + cols;
    for (let k = 0; k < inner; k++) {
      const c0 = c[i * inner + k], c1 = c[(i + 1) * inner + k];
      const c2 = c[(i + 2) * inner + k], c3 = c[(i + 3) * inner + k];
      if (c0 === 0 && c1 === 0 && c2 === 0 && c3 === 0) continue;
      const bo = k * cols;
      for (let j = 0; j < cols; j++) {
        const v = b[bo + j];
        out[o0 + j] += c0 * v;
        out[o1 + j] += c1 * v;
        out[o2 + j] += c2 * v;
        out[o3 + j] += c3 * v;
      }
    }
  }
  for (; i < rows; i++) {
    const o = i * cols;
    for (let k = 0; k < inner; k++) {
      const ci = c[i * inner + k];
      if (ci === 0) continue;
      const bo = k * cols;
      for (let j = 0; j < cols; j++) out[o + j] += ci * b[bo + j];
    }
  }
  return out;
}

/**
 * The kernel `gemm(cp, bp, op, rowBlocks, inner, colBlocks)`: C packed as [row block][k][4],
 * B packed as [column block][k][4], out row-major with 4·colBlocks columns. Each 4x4 block of out
 * keeps its eight float64x2 accumulators in registers over the whole k loop.
 */
function _buildModule(): Uint8Array<ArrayBuffer> {
  const [cp, bp, op, rowBlocks, inner, colBlocks] = [0, 1, 2, 3, 4, 5];
  const I = WASM_TYPE.i32, V = WASM_TYPE.v128;
  const locals = new WasmLocals(6);
  const local = (t: WasmType) => locals.add(t);
  const ib = local(I), jb = local(I), k = local(I), cptr = local(I), bptr = local(I);
  const optr = local(I), rowBytes = local(I);
  const acc = Array.from({ length: 8 }, () => local(V));
  const b0 = local(V), b1 = local(V), cs = local(V);
  const zero = wV128(new Uint8Array(16));
  const add = (a: number, by: WasmExpr) => wSet(a, wI32Op(_ADD, wGet(a), by));
  const fma = (a: number, x: WasmExpr, y: WasmExpr) =>
    wSet(a, wSimd(_F64X2_ADD, [wGet(a), wSimd(_F64X2_MUL, [x, y])]));
  const kLoop: WasmExpr[] = [wSet(b0, wLoad(wGet(bptr))), wSet(b1, wLoad(wGet(bptr), 16))];
  for (let r = 0; r < 4; r++) {
    kLoop.push(
      wSet(cs, wLoadSplat64(wGet(cptr), 8 * r)),
      fma(acc[2 * r], wGet(cs), wGet(b0)),
      fma(acc[2 * r + 1], wGet(cs), wGet(b1)),
    );
  }
  kLoop.push(add(cptr, wI32(32)), add(bptr, wI32(32)));
  const stores: WasmExpr[] = [];
  for (let r = 0; r < 4; r++) {
    const row = wI32Op(_ADD, wGet(optr), wI32Op(_MUL, wGet(rowBytes), wI32(r)));
    stores.push(wStore(row, wGet(acc[2 * r])), wStore(row, wGet(acc[2 * r + 1]), 16));
  }
  const panelBytes = wI32Op(_MUL, wGet(inner), wI32(32));
  const block: WasmExpr[] = [
    ...acc.map((a) => wSet(a, zero)),
    wSet(cptr, wI32Op(_ADD, wGet(cp), wI32Op(_MUL, wGet(ib), panelBytes))),
    wSet(bptr, wI32Op(_ADD, wGet(bp), wI32Op(_MUL, wGet(jb), panelBytes))),
    wSet(k, wGet(inner)),
    wDoWhile(kLoop, wTee(k, wI32Op(_SUB, wGet(k), wI32(1)))),
    // out[4·ib + r][4·jb ..]
    wSet(
      optr,
      wI32Op(
        _ADD,
        wGet(op),
        wI32Op(
          _ADD,
          wI32Op(_MUL, wGet(ib), wI32Op(_MUL, wGet(rowBytes), wI32(4))),
          wI32Op(
            _MUL,
            wGet(jb),
            wI32(32),
          ),
        ),
      ),
    ),
    ...stores,
  ];
  const body: WasmExpr[] = [
    wSet(rowBytes, wI32Op(_MUL, wGet(colBlocks), wI32(32))),
    wSet(ib, wI32(0)),
    wDoWhile(
      [
        wSet(jb, wI32(0)),
        wDoWhile(
          block,
          wI32Op(0x49, wTee(jb, wI32Op(_ADD, wGet(jb), wI32(1))), wGet(colBlocks)),
        ),
      ],
      wI32Op(0x49, wTee(ib, wI32Op(_ADD, wGet(ib), wI32(1))), wGet(rowBlocks)),
    ),
  ];
  return wasmModule([{
    name: "gemm",
    params: Array<WasmType>(6).fill(I),
    locals: locals.types,
    body,
  }], 1);
}

interface _Kernel {
  gemm(
    cp: number,
    bp: number,
    op: number,
    rowBlocks: number,
    inner: number,
    colBlocks: number,
  ): void;
  memory: WebAssembly.Memory;
}

const _load = lazyWasm(_buildModule, (inst): _Kernel => ({
  gemm: inst.exports.gemm as _Kernel["gemm"],
  memory: inst.exports.memory as WebAssembly.Memory,
}));

/**
 * C · B with the WebAssembly kernel (rows and columns padded to multiples of 4 in its memory).
 *
 * @param c Left matrix (rows x inner, row-major).
 * @param rows Its rows.
 * @param inner Its columns.
 * @param b Right matrix (inner x cols).
 * @param cols Its columns.
 * @returns The product, or null where WebAssembly SIMD is unavailable.
 */
export function matmulWasm(
  c: Float64Array,
  rows: number,
  inner: number,
  b: Float64Array,
  cols: number,
): Float64Array | null {
  const kernel = _load();
  if (!kernel || rows === 0 || cols === 0 || inner === 0) return null;
  const rb = Math.ceil(rows / 4), cb = Math.ceil(cols / 4);
  const cLen = 4 * rb * inner, bLen = 4 * cb * inner, oLen = 16 * rb * cb;
  const bytes = 8 * (cLen + bLen + oLen);
  const have = kernel.memory.buffer.byteLength;
  if (bytes > have) kernel.memory.grow(Math.ceil((bytes - have) / 65536));
  const mem = new Float64Array(kernel.memory.buffer, 0, cLen + bLen + oLen);
  // pack C as [row block][k][4] and B as [column block][k][4], zero-padded
  const cp = mem.subarray(0, cLen), bp = mem.subarray(cLen, cLen + bLen);
  cp.fill(0, 4 * Math.floor(rows / 4) * inner);
  for (let i = 0; i < rows; i++) {
    const base = (i >> 2) * 4 * inner + (i & 3);
    for (let k = 0; k < inner; k++) cp[base + 4 * k] = c[i * inner + k];
  }
  if (cols % 4 !== 0) bp.fill(0, (cb - 1) * 4 * inner);
  for (let k = 0; k < inner; k++) {
    for (let j = 0; j < cols; j++) bp[(j >> 2) * 4 * inner + 4 * k + (j & 3)] = b[k * cols + j];
  }
  kernel.gemm(0, 8 * cLen, 8 * (cLen + bLen), rb, inner, cb);
  const out = new Float64Array(rows * cols), o = mem.subarray(cLen + bLen);
  for (let i = 0; i < rows; i++) out.set(o.subarray(i * 4 * cb, i * 4 * cb + cols), i * cols);
  return out;
}

/**
 * C · B: the WebAssembly kernel for products big enough to pay for the copies, else the
 * TypeScript loop; the same bits either way.
 *
 * @example
 * ```ts
 * import { matmul } from "./matmul.ts";
 * const p = matmul(new Float64Array([1, 2, 3, 4]), 2, 2, new Float64Array([1, 0, 0, 1]), 2);
 * console.log([...p]); // [1, 2, 3, 4]
 * ```
 *
 * @param c Left matrix (rows x inner, row-major).
 * @param rows Its rows.
 * @param inner Its columns.
 * @param b Right matrix (inner x cols).
 * @param cols Its columns.
 * @returns The product, row-major.
 */
export function matmul(
  c: Float64Array,
  rows: number,
  inner: number,
  b: Float64Array,
  cols: number,
): Float64Array {
  if (rows * inner * cols >= _WASM_MIN_WORK) {
    const out = matmulWasm(c, rows, inner, b, cols);
    if (out) return out;
  }
  return matmulScalar(c, rows, inner, b, cols);
}

/**
 * The transpose of a row-major matrix.
 *
 * @example
 * ```ts
 * import { transpose } from "./matmul.ts";
 * console.log(Array.from(transpose(Float64Array.of(1, 2, 3, 4, 5, 6), 2, 3))); // [1, 4, 2, 5, 3, 6]
 * ```
 *
 * @param a The matrix (rows x cols).
 * @param rows Its rows.
 * @param cols Its columns.
 * @returns Aᵀ (cols x rows), row-major.
 */
export function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}
