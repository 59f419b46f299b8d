/**
 * Read and write NumPy `.npy` files (format versions 1, 2 and 3).
 *
 * Reading accepts float32, float64, signed and unsigned integers of 1 to 8 bytes and bool,
 * in either byte order and C order, and always returns float32 values. Writing produces
 * little-endian float32 in C order, format version 1.
 *
 * @module
 */

import { UserError } from "./errors.ts";
import { fromHalf } from "./float16.ts";

/** A decoded `.npy` array: its shape and its values converted to float32. */
export interface NpyArray {
  /** The array's shape (`[]` for a scalar). */
  shape: number[];
  /** The values in C order. */
  data: Float32Array;
}

const _MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/**
 * Decode the bytes of a `.npy` file.
 *
 * Fortran-ordered arrays, structured dtypes and truncated data are refused with a
 * {@linkcode UserError} that says why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNpy, encodeNpy } from "@diffrestore/sampler";
 *
 * const a = decodeNpy(encodeNpy([2, 2], new Float32Array([1, 2, 3, 4])));
 * assert.deepEqual(a.shape, [2, 2]);
 * assert.deepEqual([...a.data], [1, 2, 3, 4]);
 * ```
 *
 * @param bytes The file's bytes.
 * @param name A name for error messages (usually the path).
 * @returns The shape and the values as float32.
 */
export function decodeNpy(bytes: Uint8Array, name = "npy data"): NpyArray {
  if (bytes.length < 10 || _MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new UserError(`${name}: not a .npy file (bad magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new UserError(`${name}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new UserError(`${name}: unsupported .npy format version ${major}`);
  }
  if (headerStart + headerLen > bytes.length) {
    throw new UserError(`${name}: truncated .npy header`);
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(headerStart, headerStart + headerLen),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new UserError(`${name}: malformed .npy header: ${header.trim()}`);
  }
  if (fortran === "True") {
    throw new UserError(`${name}: Fortran-ordered arrays are not supported (save in C order)`);
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(
    (s) => {
      const v = Number(s.replace(/L$/, ""));
      if (!Number.isInteger(v) || v < 0) {
        throw new UserError(`${name}: bad dimension '${s}' in .npy shape`);
      }
      return v;
    },
  );
  const count = shape.reduce((a, b) => a * b, 1);
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  if (!m) throw new UserError(`${name}: unsupported .npy dtype '${descr}'`);
  const little = m[1] !== ">";
  const kind = m[2];
  const width = Number(m[3]);
  const dataStart = headerStart + headerLen;
  const needed = count * width;
  if (bytes.length - dataStart < needed) {
    throw new UserError(
      `${name}: truncated .npy data: shape [${shape.join(", ")}] needs ${needed} bytes, ` +
        `file has ${bytes.length - dataStart}`,
    );
  }
  if (kind === "f" && width === 4 && little) {
    // the common case: copy the bytes straight into a Float32Array (no per-value DataView reads)
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + needed));
    return { shape, data };
  }
  const read = _reader(kind, width, little, descr, name);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = read(view, dataStart + i * width);
  return { shape, data };
}

function _reader(
  kind: string,
  width: number,
  little: boolean,
  descr: string,
  name: string,
): (v: DataView, o: number) => number {
  const key = `${kind}${width}`;
  switch (key) {
    case "f4":
      return (v, o) => v.getFloat32(o, little);
    case "f8":
      return (v, o) => v.getFloat64(o, little);
    case "f2":
      return (v, o) => fromHalf(v.getUint16(o, little));
    case "i1":
      return (v, o) => v.getInt8(o);
    case "u1":
    case "b1":
      return (v, o) => v.getUint8(o);
    case "i2":
      return (v, o) => v.getInt16(o, little);
    case "u2":
      return (v, o) => v.getUint16(o, little);
    case "i4":
      return (v, o) => v.getInt32(o, little);
    case "u4":
      return (v, o) => v.getUint32(o, little);
    case "i8":
      return (v, o) => Number(v.getBigInt64(o, little));
    case "u8":
      return (v, o) => Number(v.getBigUint64(o, little));
  }
  throw new UserError(`${name}: unsupported .npy dtype '${descr}'`);
}

/**
 * Encode float32 values as a little-endian, C-order `.npy` file (format version 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy } from "@diffrestore/sampler";
 *
 * const bytes = encodeNpy([1, 3, 2, 2], new Float32Array(12));
 * assert.equal(bytes.length, 128 + 12 * 4); // the header is padded to 64 bytes
 * ```
 *
 * @param shape The array's shape.
 * @param data The values in C order; its length must equal the product of `shape`.
 * @returns The file's bytes.
 */
export function encodeNpy(shape: readonly number[], data: Float32Array): Uint8Array<ArrayBuffer> {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(`shape [${shape.join(", ")}] needs ${count} values, got ${data.length}`);
  }
  const shapeText = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shapeText}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set(_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const body = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < data.length; i++) body.setFloat32(i * 4, data[i], true);
  return out;
}

/**
 * Read and decode a `.npy` file; a missing file is one {@linkcode UserError} line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, readNpyFile } from "@diffrestore/sampler";
 *
 * const path = `${await Deno.makeTempDir()}/noise.npy`;
 * await Deno.writeFile(path, encodeNpy([2, 2], Float32Array.of(1, 2, 3, 4)));
 * const { shape, data } = await readNpyFile(path);
 * assert.deepEqual(shape, [2, 2]);
 * assert.equal(data[3], 4);
 * ```
 *
 * @param path The file.
 * @param missing The message when it cannot be read (default `PATH: no such file`).
 * @returns The array.
 */
export async function readNpyFile(
  path: string,
  missing = `${path}: no such file`,
): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    throw new UserError(missing);
  }
  return decodeNpy(bytes, path);
}
