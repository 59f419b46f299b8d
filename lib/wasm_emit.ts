/**
 * A small WebAssembly assembler: expression trees of core and SIMD instructions, encoded into a
 * module binary in TypeScript, so the few hot CPU loops that need 128-bit integer and float64
 * lanes ship as source code rather than as an opaque blob.
 *
 * @module
 */

/** A WebAssembly value type code (`i32`, `i64`, `f64`, `v128`). */
export type WasmType = 0x7f | 0x7e | 0x7c | 0x7b;

/** Value type codes. */
export const WASM_TYPE: { i32: WasmType; i64: WasmType; f64: WasmType; v128: WasmType } = {
  i32: 0x7f,
  i64: 0x7e,
  f64: 0x7c,
  v128: 0x7b,
};

/** An expression: appends the instructions that push its value (or perform its effect). */
export type WasmExpr = (out: number[]) => void;

/** Opcodes of the SIMD instructions used here (after the 0xfd prefix, LEB128-encoded). */
export const SIMD_OP = {
  i32x4Splat: 0x11,
  i32x4LtU: 0x3a,
  f64x2Gt: 0x4a,
  v128And: 0x4e,
  v128Or: 0x50,
  v128Xor: 0x51,
  v128Bitselect: 0x52,
  f32x4DemoteF64x2Zero: 0x5e,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  i32x4Mul: 0xb5,
  i64x2ExtendLowI32x4S: 0xc7,
  i64x2Shl: 0xcb,
  i64x2ShrU: 0xcd,
  i64x2Sub: 0xd1,
  i64x2ExtmulLowI32x4U: 0xde,
  i64x2ExtmulHighI32x4U: 0xdf,
  f64x2Sqrt: 0xef,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  f64x2ConvertLowI32x4S: 0xfe,
  f64x2ConvertLowI32x4U: 0xff,
} as const;

function _uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function _sleb(out: number[], v: number): void {
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** Push local `i`. */
export function wGet(i: number): WasmExpr {
  return (out) => {
    out.push(0x20);
    _uleb(out, i);
  };
}

/** Store `value` in local `i` and push it again. */
export function wTee(i: number, value: WasmExpr): WasmExpr {
  return (out) => {
    value(out);
    out.push(0x22);
    _uleb(out, i);
  };
}

/** Store `value` in local `i`. */
export function wSet(i: number, value: WasmExpr): WasmExpr {
  return (out) => {
    value(out);
    out.push(0x21);
    _uleb(out, i);
  };
}

/** An `i32.const` (the value is taken modulo 2^32). */
export function wI32(v: number): WasmExpr {
  return (out) => {
    out.push(0x41);
    _sleb(out, v | 0);
  };
}

/** An `i32` binary operation by core opcode (e.g. 0x6a add, 0x6b sub). */
export function wI32Op(op: number, a: WasmExpr, b: WasmExpr): WasmExpr {
  return (out) => {
    a(out);
    b(out);
    out.push(op);
  };
}

/** A SIMD instruction applied to its operands, with optional immediate bytes. */
export function wSimd(op: number, args: WasmExpr[], immediates: number[] = []): WasmExpr {
  return (out) => {
    for (const a of args) a(out);
    out.push(0xfd);
    _uleb(out, op);
    out.push(...immediates);
  };
}

/** A `v128.const` from 16 little-endian bytes. */
export function wV128(bytes: Uint8Array): WasmExpr {
  return (out) => {
    out.push(0xfd, 0x0c, ...bytes);
  };
}

/** A `v128.const` of four 32-bit lanes. */
export function wI32x4(a: number, b: number, c: number, d: number): WasmExpr {
  return wV128(new Uint8Array(new Uint32Array([a >>> 0, b >>> 0, c >>> 0, d >>> 0]).buffer));
}

/** A `v128.const` with both 64-bit lanes equal to `v` (given as a bigint bit pattern). */
export function wI64x2(v: bigint): WasmExpr {
  return wV128(new Uint8Array(new BigUint64Array([v, v]).buffer));
}

/** A `v128.const` with both float64 lanes equal to `v`. */
export function wF64x2(v: number): WasmExpr {
  return wV128(new Uint8Array(new Float64Array([v, v]).buffer));
}

/** `i8x16.shuffle` of two vectors by byte indices 0–31. */
export function wShuffle(a: WasmExpr, b: WasmExpr, bytes: number[]): WasmExpr {
  return wSimd(0x0d, [a, b], bytes);
}

/** The 16 shuffle bytes that pick 32-bit lanes (0–3 from the first vector, 4–7 the second). */
export function lanes32(l: [number, number, number, number]): number[] {
  return l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);
}

/** `v128.load` from an i32 address plus a constant offset. */
export function wLoad(address: WasmExpr, offset = 0): WasmExpr {
  return (out) => {
    address(out);
    out.push(0xfd, 0x00, 4);
    _uleb(out, offset);
  };
}

/** `v128.load64_splat`: one float64 from an i32 address plus a constant offset, in both lanes. */
export function wLoadSplat64(address: WasmExpr, offset = 0): WasmExpr {
  return (out) => {
    address(out);
    out.push(0xfd, 0x0a, 3);
    _uleb(out, offset);
  };
}

/** `v128.store` of `value` at an i32 address plus a constant offset. */
export function wStore(address: WasmExpr, value: WasmExpr, offset = 0): WasmExpr {
  return (out) => {
    address(out);
    value(out);
    out.push(0xfd, 0x0b, 4);
    _uleb(out, offset);
  };
}

/** A do-while loop: runs `body`, then repeats while `condition` (an i32) is non-zero. */
export function wDoWhile(body: WasmExpr[], condition: WasmExpr): WasmExpr {
  return (out) => {
    out.push(0x03, 0x40);
    for (const s of body) s(out);
    condition(out);
    out.push(0x0d, 0);
    out.push(0x0b);
  };
}

/** Runs `body` only when `condition` (an i32) is non-zero. */
export function wIf(condition: WasmExpr, body: WasmExpr[]): WasmExpr {
  return (out) => {
    condition(out);
    out.push(0x04, 0x40);
    for (const s of body) s(out);
    out.push(0x0b);
  };
}

/**
 * Numbers a function's locals after its parameters, by type, as a body asks for them.
 *
 * @example
 * ```ts
 * import { WASM_TYPE, WasmLocals } from "./wasm_emit.ts";
 * const locals = new WasmLocals(2);
 * console.log(locals.add(WASM_TYPE.i32), locals.add(WASM_TYPE.v128)); // 2 3
 * ```
 */
export class WasmLocals {
  /** The types, in local index order (pass as `WasmFunction.locals`). */
  readonly types: WasmType[] = [];
  #first: number;

  /**
   * Start after the parameters.
   *
   * @param params How many parameters the function has.
   */
  constructor(params: number) {
    this.#first = params;
  }

  /**
   * A new local.
   *
   * @param type Its type.
   * @returns Its index.
   */
  add(type: WasmType): number {
    this.types.push(type);
    return this.#first + this.types.length - 1;
  }
}

/** One exported function without results. */
export interface WasmFunction {
  /** Export name. */
  name: string;
  /** Parameter types (locals 0 .. params.length − 1). */
  params: WasmType[];
  /** Further local types, numbered after the parameters. */
  locals: WasmType[];
  /** The statements of the body. */
  body: WasmExpr[];
}

function _section(out: number[], id: number, content: number[]): void {
  out.push(id);
  _uleb(out, content.length);
  out.push(...content);
}

function _name(out: number[], s: string): void {
  const b = new TextEncoder().encode(s);
  _uleb(out, b.length);
  out.push(...b);
}

/**
 * Encode a module of exported functions and one exported memory named `memory`.
 *
 * @example
 * ```ts
 * import { WASM_TYPE, wasmModule } from "./wasm_emit.ts";
 * const bytes = wasmModule([{ name: "nop", params: [WASM_TYPE.i32], locals: [], body: [] }], 1);
 * console.log(WebAssembly.validate(bytes)); // true
 * ```
 *
 * @param functions The functions, in index order.
 * @param memoryPages Initial memory size in 64 KiB pages.
 * @returns The module binary.
 */
export function wasmModule(
  functions: WasmFunction[],
  memoryPages: number,
): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  _uleb(types, functions.length);
  for (const f of functions) {
    types.push(0x60);
    _uleb(types, f.params.length);
    types.push(...f.params, 0);
  }
  _section(out, 1, types);
  const funcs: number[] = [];
  _uleb(funcs, functions.length);
  functions.forEach((_, i) => _uleb(funcs, i));
  _section(out, 3, funcs);
  const memory = [1, 0];
  _uleb(memory, memoryPages);
  _section(out, 5, memory);
  const exports: number[] = [];
  _uleb(exports, functions.length + 1);
  functions.forEach((f, i) => {
    _name(exports, f.name);
    exports.push(0x00);
    _uleb(exports, i);
  });
  _name(exports, "memory");
  exports.push(0x02, 0);
  _section(out, 7, exports);
  const code: number[] = [];
  _uleb(code, functions.length);
  for (const f of functions) {
    const body: number[] = [];
    _uleb(body, f.locals.length);
    for (const t of f.locals) body.push(1, t);
    for (const s of f.body) s(body);
    body.push(0x0b);
    _uleb(code, body.length);
    code.push(...body);
  }
  _section(out, 10, code);
  return new Uint8Array(out);
}

/**
 * Compile and instantiate a module without imports, or null where WebAssembly (or an
 * instruction the module uses, such as SIMD) is unavailable, so callers can fall back.
 *
 * @param bytes The module binary.
 * @returns The instance, or null.
 */
export function instantiateWasm(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Instance | null {
  try {
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(bytes)) return null;
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  } catch {
    return null;
  }
}

/**
 * A module built and instantiated on first use, then kept: `get()` returns what `wrap` makes of
 * the instance, or null where {@linkcode instantiateWasm} gives none (callers fall back).
 *
 * @param build Assembles the module binary.
 * @param wrap Picks the exports (and memory views) the caller needs.
 * @returns The getter.
 */
export function lazyWasm<T>(
  build: () => Uint8Array<ArrayBuffer>,
  wrap: (instance: WebAssembly.Instance) => T,
): () => T | null {
  let value: T | null | undefined;
  return () => {
    if (value === undefined) {
      const instance = instantiateWasm(build());
      value = instance && wrap(instance);
    }
    return value;
  };
}
