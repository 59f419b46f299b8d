import assert from "node:assert/strict";
import { decodeNpy, encodeNpy } from "../lib/npy.ts";
import { UserError } from "../lib/errors.ts";

function npyBytes(descr: string, shape: string, body: Uint8Array, version = 1): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  header += " ".repeat((64 - ((pre + header.length + 1) % 64)) % 64) + "\n";
  const out = new Uint8Array(pre + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, header.length, true);
  else v.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(body, pre + header.length);
  return out;
}

Deno.test("npy: float32 round trip keeps shape and values, header aligned to 64", () => {
  const data = new Float32Array([0, -1.5, 3.25, 1e-20, -7, 8, 9, 10, 11, 12, 13, 14]);
  const bytes = encodeNpy([1, 3, 2, 2], data);
  assert.equal((bytes.length - data.length * 4) % 64, 0);
  const back = decodeNpy(bytes);
  assert.deepEqual(back.shape, [1, 3, 2, 2]);
  assert.deepEqual(back.data, data);
  assert.deepEqual(decodeNpy(encodeNpy([3], new Float32Array([1, 2, 3]))).shape, [3]);
});

Deno.test("npy: float64, int, big-endian, version 2 and scalars convert to float32", () => {
  const f8 = new Float64Array([1.5, -2.25]);
  assert.deepEqual([...decodeNpy(npyBytes("<f8", "(2,)", new Uint8Array(f8.buffer))).data], [
    1.5,
    -2.25,
  ]);
  const i8 = new BigInt64Array([3n, -4n]);
  assert.deepEqual([...decodeNpy(npyBytes("<i8", "(2,)", new Uint8Array(i8.buffer))).data], [
    3,
    -4,
  ]);
  const be = new Uint8Array(4);
  new DataView(be.buffer).setFloat32(0, 2.5, false);
  assert.deepEqual([...decodeNpy(npyBytes(">f4", "()", be)).data], [2.5]);
  assert.deepEqual(decodeNpy(npyBytes(">f4", "()", be)).shape, []);
  const u1 = new Uint8Array([7, 255]);
  const v2 = decodeNpy(npyBytes("|u1", "(1, 2)", u1, 2));
  assert.deepEqual(v2.shape, [1, 2]);
  assert.deepEqual([...v2.data], [7, 255]);
});

Deno.test("npy: bad files are refused with a reason", () => {
  const isUser = (re: RegExp) => (e: Error) => e instanceof UserError && re.test(e.message);
  assert.throws(() => decodeNpy(new Uint8Array([1, 2, 3]), "x.npy"), isUser(/x\.npy: not a \.npy/));
  const body = new Uint8Array(8);
  assert.throws(() => decodeNpy(npyBytes("<f4", "(3,)", body)), isUser(/truncated .npy data/));
  const fortran = npyBytes("<f4", "(2,)", body);
  const at = new TextDecoder("latin1").decode(fortran).indexOf("False");
  fortran.set(new TextEncoder().encode("True "), at);
  assert.throws(() => decodeNpy(fortran), isUser(/Fortran/));
  assert.throws(() => decodeNpy(npyBytes("<c8", "(1,)", body)), isUser(/unsupported .npy dtype/));
});
