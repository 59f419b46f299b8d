import assert from "node:assert/strict";
import {
  lanes32,
  SIMD_OP,
  WASM_TYPE,
  wasmModule,
  wDoWhile,
  wF64x2,
  wGet,
  wI32,
  wI32Op,
  wI32x4,
  wIf,
  wSet,
  wShuffle,
  wSimd,
  wStore,
  wTee,
} from "../lib/wasm_emit.ts";

Deno.test("wasm assembler: encodes constants, SIMD lanes, offsets and loops that run as written", () => {
  const [a, n, acc] = [0, 1, 2];
  // f(a, n): a + (0, 1, −70000, 2^31) wrapping in int32, plus n in a loop, lanes reversed; √2.25
  const body = [
    wSet(
      acc,
      wSimd(SIMD_OP.i32x4Add, [
        wSimd(SIMD_OP.i32x4Splat, [wGet(a)]),
        wI32x4(0, 1, -70000, 2 ** 31),
      ]),
    ),
    wIf(wGet(n), [
      wDoWhile(
        [wSet(acc, wSimd(SIMD_OP.i32x4Add, [wGet(acc), wI32x4(1, 1, 1, 1)]))],
        wTee(n, wI32Op(0x6b, wGet(n), wI32(1))),
      ),
    ]),
    // offset 300 needs a two-byte LEB128
    wStore(wI32(0), wShuffle(wGet(acc), wGet(acc), lanes32([3, 2, 1, 0])), 300),
    wStore(wI32(16), wSimd(SIMD_OP.f64x2Sqrt, [wF64x2(2.25)])),
  ];
  const bytes = wasmModule([{
    name: "f",
    params: [WASM_TYPE.i32, WASM_TYPE.i32],
    locals: [WASM_TYPE.v128],
    body,
  }], 1);
  assert.ok(WebAssembly.validate(bytes));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const f = inst.exports.f as (a: number, n: number) => void;
  const mem = (inst.exports.memory as WebAssembly.Memory).buffer;
  f(-5, 3);
  assert.deepEqual([...new Int32Array(mem, 300, 4)], [2 ** 31 - 2, -70002, -1, -2]);
  assert.deepEqual([...new Float64Array(mem, 16, 2)], [1.5, 1.5]);
  f(10, 0);
  assert.deepEqual([...new Int32Array(mem, 300, 4)], [-(2 ** 31) + 10, -69990, 11, 10]);
});
