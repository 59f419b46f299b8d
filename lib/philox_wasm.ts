/**
 * The documented Gaussian generator (`noise.ts`) as a WebAssembly SIMD loop: Philox-4x32-10 on
 * four counters at once (64-bit products from `i64x2.extmul`), then Box-Muller in float64 lanes
 * with a log and a sine/cosine of float64 accuracy. The module is assembled here from
 * {@link ./wasm_emit.ts}; where WebAssembly SIMD is missing, callers fall back to TypeScript.
 *
 * @module
 */

import {
  lanes32,
  lazyWasm,
  SIMD_OP as OP,
  WASM_TYPE,
  type WasmExpr,
  WasmLocals,
  wasmModule,
  type WasmType,
  wDoWhile,
  wF64x2,
  wGet,
  wI32,
  wI32Op,
  wI32x4,
  wI64x2,
  wIf,
  wSet,
  wShuffle,
  wSimd,
  wStore,
  wTee,
} from "./wasm_emit.ts";

const _M0 = 0xd2511f53;
const _M1 = 0xcd9e8d57;
const _W0 = 0x9e3779b9;
const _W1 = 0xbb67ae85;
/** Groups of 4 blocks (16 values, 64 bytes) that fit the module's 4-page output buffer. */
const _GROUPS_PER_CALL = 4096;
const _PAGES = 4;

/** Loop-invariant vector constants, hoisted into locals set once before the loop. */
class _Constants {
  readonly setup: WasmExpr[] = [];
  #locals: WasmLocals;
  #byKey = new Map<string, number>();
  constructor(locals: WasmLocals) {
    this.#locals = locals;
  }
  /** A local holding the constant `make` builds, keyed by `key`. */
  get(key: string, make: () => WasmExpr): WasmExpr {
    let local = this.#byKey.get(key);
    if (local === undefined) {
      local = this.#locals.add(WASM_TYPE.v128);
      this.#byKey.set(key, local);
      this.setup.push(wSet(local, make()));
    }
    return wGet(local);
  }
}

let _pool: _Constants | null = null;
const _const = (key: string, make: () => WasmExpr) => _pool ? _pool.get(key, make) : make();
const _i64 = (v: bigint) => _const(`q${v}`, () => wI64x2(v));

const _f = {
  add: (a: WasmExpr, b: WasmExpr) => wSimd(OP.f64x2Add, [a, b]),
  sub: (a: WasmExpr, b: WasmExpr) => wSimd(OP.f64x2Sub, [a, b]),
  mul: (a: WasmExpr, b: WasmExpr) => wSimd(OP.f64x2Mul, [a, b]),
  div: (a: WasmExpr, b: WasmExpr) => wSimd(OP.f64x2Div, [a, b]),
  k: (v: number) => _const(`f${v}`, () => wF64x2(v)),
};
const _i = {
  add: (a: WasmExpr, b: WasmExpr) => wSimd(OP.i32x4Add, [a, b]),
  sub: (a: WasmExpr, b: WasmExpr) => wSimd(OP.i32x4Sub, [a, b]),
  mul: (a: WasmExpr, b: WasmExpr) => wSimd(OP.i32x4Mul, [a, b]),
  and: (a: WasmExpr, b: WasmExpr) => wSimd(OP.v128And, [a, b]),
  xor: (a: WasmExpr, b: WasmExpr) => wSimd(OP.v128Xor, [a, b]),
  splat: (a: WasmExpr) => wSimd(OP.i32x4Splat, [a]),
  k: (v: number) => _const(`i${v}`, () => wI32x4(v, v, v, v)),
};

/**
 * c0 + c1·z + c2·z² + … by Estrin's scheme (pairs combined with z², z⁴, …), whose dependency
 * chain is log₂ of Horner's; `powers` are locals holding z, z², z⁴, … as far as needed.
 */
function _estrin(powers: number[], coefficients: number[]): WasmExpr {
  let terms: WasmExpr[] = coefficients.map((c) => _f.k(c));
  for (let level = 0; terms.length > 1; level++) {
    const next: WasmExpr[] = [];
    for (let j = 0; j < terms.length; j += 2) {
      next.push(
        j + 1 < terms.length
          ? _f.add(terms[j], _f.mul(terms[j + 1], wGet(powers[level])))
          : terms[j],
      );
    }
    terms = next;
  }
  return terms[0];
}

/** Statements that fill locals with z², z⁴, … (z itself in `z`) for an `n`-term polynomial. */
function _powers(v: WasmLocals, z: number, n: number): { powers: number[]; setup: WasmExpr[] } {
  const powers = [z], setup: WasmExpr[] = [];
  for (let m = 2; m < n; m *= 2) {
    const prev = powers[powers.length - 1], p = v.add(WASM_TYPE.v128);
    setup.push(wSet(p, _f.mul(wGet(prev), wGet(prev))));
    powers.push(p);
  }
  return { powers, setup };
}

/** 1/n! for n = 0 .. 19. */
const _INV_FACTORIAL: number[] = Array.from({ length: 20 }, (_, n) => {
  let f = 1;
  for (let k = 2; k <= n; k++) f *= k;
  return 1 / f;
});

/**
 * ln u for the two float64 lanes of local `u` (u > 0 normal), into local `out`: u = m·2^e with m
 * in [√½, √2), f = m − 1, s = f/(2 + f), ln m = f − f²/2 + s(f²/2 + R(s²)) with R the atanh
 * series 2s²/3 + 2s⁴/5 + … to s²⁰, and ln 2 split in two so e·ln2 adds without rounding.
 */
function _ln(v: WasmLocals, u: number, out: number): WasmExpr[] {
  const e = v.add(WASM_TYPE.v128), m = v.add(WASM_TYPE.v128), big = v.add(WASM_TYPE.v128);
  const ef = v.add(WASM_TYPE.v128), f = v.add(WASM_TYPE.v128), s = v.add(WASM_TYPE.v128);
  const hfsq = v.add(WASM_TYPE.v128), z = v.add(WASM_TYPE.v128);
  const ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10;
  const atanh = Array.from({ length: 10 }, (_, k) => 2 / (2 * k + 3));
  const pw = _powers(v, z, atanh.length);
  const r = _f.mul(wGet(z), _estrin(pw.powers, atanh));
  return [
    wSet(e, wSimd(OP.i64x2ShrU, [wGet(u), wI32(52)])),
    wSet(
      m,
      wSimd(OP.v128Or, [_i.and(wGet(u), _i64(0x000fffffffffffffn)), _i64(0x3ff0000000000000n)]),
    ),
    wSet(big, wSimd(OP.f64x2Gt, [wGet(m), _f.k(Math.SQRT2)])),
    wSet(m, wSimd(OP.v128Bitselect, [_f.mul(wGet(m), _f.k(0.5)), wGet(m), wGet(big)])),
    // the comparison mask is −1 per lane: subtracting it adds 1 to the exponent
    wSet(e, wSimd(OP.i64x2Sub, [wGet(e), wGet(big)])),
    // exponent field as float64: OR it into 2^52's mantissa, subtract 2^52 and the bias
    wSet(
      ef,
      _f.sub(wSimd(OP.v128Or, [wGet(e), _i64(0x4330000000000000n)]), _f.k(2 ** 52 + 1023)),
    ),
    wSet(f, _f.sub(wGet(m), _f.k(1))),
    wSet(s, _f.div(wGet(f), _f.add(wGet(m), _f.k(1)))),
    wSet(hfsq, _f.mul(_f.mul(wGet(f), wGet(f)), _f.k(0.5))),
    wSet(z, _f.mul(wGet(s), wGet(s))),
    ...pw.setup,
    wSet(
      out,
      _f.sub(
        _f.mul(wGet(ef), _f.k(ln2Hi)),
        _f.sub(
          _f.sub(
            wGet(hfsq),
            _f.add(_f.mul(wGet(s), _f.add(wGet(hfsq), r)), _f.mul(wGet(ef), _f.k(ln2Lo))),
          ),
          wGet(f),
        ),
      ),
    ),
  ];
}

/**
 * cos and sin of 2π(c + 0.5)/2^32 for the uint32 lanes 0, 1 of local `c`, into locals `cos`
 * and `sin`: the quadrant q comes from the top bits in integer arithmetic, so the reduced angle
 * r = 2π(c − q·2^30 + 0.5)/2^32 in [−π/4, π/4] is exact up to one rounding; Taylor series to
 * r^19 then give both functions, swapped and negated by quadrant.
 */
function _cosSin(v: WasmLocals, c: number, cos: number, sin: number): WasmExpr[] {
  const q = v.add(WASM_TYPE.v128), r = v.add(WASM_TYPE.v128), z = v.add(WASM_TYPE.v128);
  const cr = v.add(WASM_TYPE.v128), sr = v.add(WASM_TYPE.v128), swap = v.add(WASM_TYPE.v128);
  const cosTaylor = Array.from(
    { length: 8 },
    (_, k) => (k % 2 === 0 ? -1 : 1) * _INV_FACTORIAL[2 * k + 2],
  );
  const sinTaylor = Array.from(
    { length: 9 },
    (_, k) => (k % 2 === 0 ? -1 : 1) * _INV_FACTORIAL[2 * k + 3],
  );
  const pw = _powers(v, z, sinTaylor.length);
  // the sign bit of each float64 lane from bit 1 of an int32 lane (0 or 2)
  const signOf = (bit: WasmExpr) =>
    wSimd(OP.i64x2Shl, [
      wSimd(OP.i64x2ExtendLowI32x4S, [wSimd(OP.i32x4Shl, [_i.and(bit, _i.k(2)), wI32(30)])]),
      wI32(32),
    ]);
  return [
    wSet(q, wSimd(OP.i32x4ShrU, [_i.add(wGet(c), _i.k(2 ** 29)), wI32(30)])),
    wSet(
      r,
      _f.mul(
        _f.add(
          wSimd(OP.f64x2ConvertLowI32x4S, [
            _i.sub(wGet(c), wSimd(OP.i32x4Shl, [wGet(q), wI32(30)])),
          ]),
          _f.k(0.5),
        ),
        _f.k(2 * Math.PI / 2 ** 32),
      ),
    ),
    wSet(z, _f.mul(wGet(r), wGet(r))),
    ...pw.setup,
    wSet(cr, _f.add(_f.k(1), _f.mul(wGet(z), _estrin(pw.powers, cosTaylor)))),
    wSet(sr, _f.add(wGet(r), _f.mul(_f.mul(wGet(r), wGet(z)), _estrin(pw.powers, sinTaylor)))),
    // odd quadrants swap cos and sin; cos is negative in quadrants 1, 2 and sin in 2, 3
    wSet(swap, wSimd(OP.i64x2ExtendLowI32x4S, [_i.sub(_i.k(0), _i.and(wGet(q), _i.k(1)))])),
    wSet(
      cos,
      _i.xor(
        wSimd(OP.v128Bitselect, [wGet(sr), wGet(cr), wGet(swap)]),
        signOf(_i.add(wGet(q), _i.k(1))),
      ),
    ),
    wSet(sin, _i.xor(wSimd(OP.v128Bitselect, [wGet(cr), wGet(sr), wGet(swap)]), signOf(wGet(q)))),
  ];
}

/** 64-bit products of four uint32 lanes by `m`, keeping the high words. */
function _mulHi(m: number, c: WasmExpr): WasmExpr {
  const hiWords = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];
  return wShuffle(
    wSimd(OP.i64x2ExtmulLowI32x4U, [_i.k(m), c]),
    wSimd(OP.i64x2ExtmulHighI32x4U, [_i.k(m), c]),
    hiWords,
  );
}

/**
 * The module: `normals(k0, k1, stream, firstLo, firstHi, groups)` writes the 16·groups values of
 * blocks first .. first + 4·groups − 1 to memory from address 0.
 */
function _buildModule(): Uint8Array<ArrayBuffer> {
  const [k0, k1, stream, firstLo, firstHi, groups] = [0, 1, 2, 3, 4, 5];
  const v = new WasmLocals(6);
  const constants = new _Constants(v);
  _pool = constants;
  const V = WASM_TYPE.v128;
  const ptr = v.add(WASM_TYPE.i32), lo = v.add(V), hi = v.add(V), st = v.add(V);
  const key0 = Array.from({ length: 10 }, () => v.add(V));
  const key1 = Array.from({ length: 10 }, () => v.add(V));
  const c = [v.add(V), v.add(V), v.add(V), v.add(V)];
  const t = [v.add(V), v.add(V), v.add(V), v.add(V)];
  const pair = [v.add(V), v.add(V), v.add(V), v.add(V)];
  const uA = v.add(V), lnA = v.add(V), radA = v.add(V), uB = v.add(V), lnB = v.add(V);
  const radB = v.add(V);
  const [cosA, sinA, cosB, sinB] = [v.add(V), v.add(V), v.add(V), v.add(V)];
  const ab = v.add(V), cd = v.add(V);
  const lnScratchA = _ln(v, uA, lnA), lnScratchB = _ln(v, uB, lnB);
  const cosSinA = _cosSin(v, pair[1], cosA, sinA), cosSinB = _cosSin(v, pair[3], cosB, sinB);

  const rounds: WasmExpr[] = [];
  for (let r = 0; r < 10; r++) {
    rounds.push(
      wSet(t[0], _i.mul(_i.k(_M0), wGet(c[0]))),
      wSet(t[1], _mulHi(_M0, wGet(c[0]))),
      wSet(t[2], _i.mul(_i.k(_M1), wGet(c[2]))),
      wSet(t[3], _mulHi(_M1, wGet(c[2]))),
      wSet(c[0], _i.xor(_i.xor(wGet(t[3]), wGet(c[1])), wGet(key0[r]))),
      wSet(c[2], _i.xor(_i.xor(wGet(t[1]), wGet(c[3])), wGet(key1[r]))),
      wSet(c[1], wGet(t[2])),
      wSet(c[3], wGet(t[0])),
    );
  }
  const uniform = (word: number) =>
    _f.mul(
      _f.add(wSimd(OP.f64x2ConvertLowI32x4U, [wGet(word)]), _f.k(0.5)),
      _f.k(2 ** -32),
    );
  const radius = (ln: number) => wSimd(OP.f64x2Sqrt, [_f.mul(wGet(ln), _f.k(-2))]);
  const demote = (a: number, b: number) =>
    wSimd(OP.f32x4DemoteF64x2Zero, [_f.mul(wGet(a), wGet(b))]);
  const boxMuller: WasmExpr[] = [];
  for (let h = 0; h < 2; h++) {
    // lanes 2h, 2h + 1 (blocks of this half) moved to lanes 0, 1 for the float64 conversions
    for (let w = 0; w < 4; w++) {
      boxMuller.push(
        wSet(
          pair[w],
          h === 0 ? wGet(c[w]) : wShuffle(wGet(c[w]), wGet(c[w]), lanes32([2, 3, 2, 3])),
        ),
      );
    }
    boxMuller.push(
      wSet(uA, uniform(pair[0])),
      wSet(uB, uniform(pair[2])),
      ...lnScratchA,
      ...lnScratchB,
      wSet(radA, radius(lnA)),
      wSet(radB, radius(lnB)),
      ...cosSinA,
      ...cosSinB,
      // (n0, n1) of the two blocks side by side, then (n2, n3); interleave into block order
      wSet(ab, wShuffle(demote(radA, cosA), demote(radA, sinA), lanes32([0, 1, 4, 5]))),
      wSet(cd, wShuffle(demote(radB, cosB), demote(radB, sinB), lanes32([0, 1, 4, 5]))),
      wStore(wGet(ptr), wShuffle(wGet(ab), wGet(cd), lanes32([0, 2, 4, 6])), 32 * h),
      wStore(wGet(ptr), wShuffle(wGet(ab), wGet(cd), lanes32([1, 3, 5, 7])), 32 * h + 16),
    );
  }
  const body: WasmExpr[] = [
    wSet(lo, _i.add(_i.splat(wGet(firstLo)), wI32x4(0, 1, 2, 3))),
    // carry into the high word where a lane's low word wrapped
    wSet(
      hi,
      _i.sub(_i.splat(wGet(firstHi)), wSimd(OP.i32x4LtU, [wGet(lo), _i.splat(wGet(firstLo))])),
    ),
    wSet(st, _i.splat(wGet(stream))),
    ...key0.map((k, r) => wSet(k, _i.splat(wI32Op(0x6a, wGet(k0), wI32(r * _W0))))),
    ...key1.map((k, r) => wSet(k, _i.splat(wI32Op(0x6a, wGet(k1), wI32(r * _W1))))),
    wSet(ptr, wI32(0)),
    // emitted after every tree is built, so constants first used below are included
    (out) => {
      for (const stmt of constants.setup) stmt(out);
    },
    wIf(wGet(groups), [
      wDoWhile(
        [
          wSet(c[0], wGet(lo)),
          wSet(c[1], wGet(hi)),
          wSet(c[2], wGet(st)),
          wSet(c[3], _i.k(0)),
          ...rounds,
          ...boxMuller,
          wSet(ptr, wI32Op(0x6a, wGet(ptr), wI32(64))),
          wSet(t[0], _i.add(wGet(lo), _i.k(4))),
          wSet(hi, _i.sub(wGet(hi), wSimd(OP.i32x4LtU, [wGet(t[0]), wGet(lo)]))),
          wSet(lo, wGet(t[0])),
        ],
        wTee(groups, wI32Op(0x6b, wGet(groups), wI32(1))),
      ),
    ]),
  ];
  const params = Array<WasmType>(6).fill(WASM_TYPE.i32);
  _pool = null;
  return wasmModule([{ name: "normals", params, locals: v.types, body }], _PAGES);
}

interface _Instance {
  normals(k0: number, k1: number, stream: number, lo: number, hi: number, groups: number): void;
  out: Float32Array;
}

// where WebAssembly SIMD is missing, callers use the TypeScript path
const _load = lazyWasm(_buildModule, (inst): _Instance => ({
  normals: inst.exports.normals as _Instance["normals"],
  out: new Float32Array(
    (inst.exports.memory as WebAssembly.Memory).buffer,
    0,
    16 * _GROUPS_PER_CALL,
  ),
}));

/**
 * Standard normals of blocks `first .. first + 4·groups − 1` (16·groups values) into
 * `out[offset ..]` with the WebAssembly SIMD loop.
 *
 * @param seed Integer seed in [0, 2^53).
 * @param stream Stream number (counter word 2).
 * @param first First block index.
 * @param groups Number of 4-block groups.
 * @param out Receives 16·groups values.
 * @param offset Where in `out` to start.
 * @returns False (and writes nothing) where WebAssembly SIMD is unavailable.
 */
export function philoxNormalsWasm(
  seed: number,
  stream: number,
  first: number,
  groups: number,
  out: Float32Array,
  offset: number,
): boolean {
  const inst = _load();
  if (!inst) return false;
  const k0 = seed >>> 0, k1 = Math.floor(seed / 4294967296) >>> 0;
  for (let g = 0; g < groups; g += _GROUPS_PER_CALL) {
    const n = Math.min(_GROUPS_PER_CALL, groups - g), b = first + 4 * g;
    inst.normals(k0, k1, stream >>> 0, b >>> 0, Math.floor(b / 4294967296) >>> 0, n);
    out.set(inst.out.subarray(0, 16 * n), offset + 16 * g);
  }
  return true;
}
