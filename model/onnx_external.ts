/**
 * Which external data files an ONNX model names, read from the model file without decoding it:
 * a walk over the protobuf fields ModelProto.graph → GraphProto.initializer →
 * TensorProto.external_data (`location` entries), seeking past every payload, so a model of
 * any size is scanned in a few reads.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";

/** Random access to the model's bytes. */
interface _Source {
  size: number;
  read(pos: number, len: number): Promise<Uint8Array>;
}

const _MODEL_GRAPH = 7, _GRAPH_INITIALIZER = 5, _TENSOR_EXTERNAL_DATA = 13;

/** A varint at `pos`: its value and the position after it. */
async function _varint(src: _Source, pos: number): Promise<[number, number]> {
  const bytes = await src.read(pos, Math.min(10, src.size - pos));
  let v = 0, mul = 1;
  for (let i = 0; i < bytes.length; i++) {
    v += (bytes[i] & 0x7f) * mul;
    if (bytes[i] < 0x80) return [v, pos + i + 1];
    mul *= 128;
  }
  throw new UserError("not an ONNX file (a truncated protobuf varint)");
}

/** Call `onField(field, start, length)` for each length-delimited field in [from, to). */
async function _fields(
  src: _Source,
  from: number,
  to: number,
  onField: (field: number, start: number, length: number) => Promise<void>,
): Promise<void> {
  let pos = from;
  while (pos < to) {
    const [tag, p1] = await _varint(src, pos);
    const wire = tag & 7, field = Math.floor(tag / 8);
    if (wire === 0) pos = (await _varint(src, p1))[1];
    else if (wire === 1) pos = p1 + 8;
    else if (wire === 5) pos = p1 + 4;
    else if (wire === 2) {
      const [len, p2] = await _varint(src, p1);
      if (p2 + len > to) throw new UserError("not an ONNX file (a field runs past its message)");
      await onField(field, p2, len);
      pos = p2 + len;
    } else throw new UserError(`not an ONNX file (protobuf wire type ${wire})`);
  }
}

async function _scan(src: _Source): Promise<string[]> {
  const files = new Set<string>();
  const dec = new TextDecoder();
  await _fields(src, 0, src.size, async (f, start, len) => {
    if (f !== _MODEL_GRAPH) return;
    await _fields(src, start, start + len, async (g, s2, l2) => {
      if (g !== _GRAPH_INITIALIZER) return;
      await _fields(src, s2, s2 + l2, async (t, s3, l3) => {
        if (t !== _TENSOR_EXTERNAL_DATA) return;
        const entry = await src.read(s3, l3);
        const kv: Record<number, string> = {};
        const mem: _Source = {
          size: entry.length,
          read: (p, n) => Promise.resolve(entry.subarray(p, p + n)),
        };
        await _fields(mem, 0, entry.length, (k, s4, l4) => {
          kv[k] = dec.decode(entry.subarray(s4, s4 + l4));
          return Promise.resolve();
        });
        if (kv[1] === "location" && kv[2]) files.add(kv[2]);
      });
    });
  });
  return [...files];
}

/**
 * The external data files an ONNX model's initializers name (relative to the model's folder),
 * in order of first use; empty for a model that keeps its weights inside.
 *
 * @example
 * ```ts ignore
 * import { externalDataFiles } from "./onnx_external.ts";
 * console.log(await externalDataFiles("models/imagenet/model.onnx")); // ["model.onnx.data"]
 * ```
 *
 * @param model The model file, or its bytes.
 * @returns The file names.
 */
export async function externalDataFiles(model: string | Uint8Array): Promise<string[]> {
  if (model instanceof Uint8Array) {
    return await _scan({
      size: model.length,
      read: (p, n) => Promise.resolve(model.subarray(p, p + n)),
    });
  }
  const file = await Deno.open(model, { read: true });
  try {
    const size = (await file.stat()).size;
    // reads go through one 64 KB block: the walk is sequential between its skips
    let blockStart = -1, block = new Uint8Array(0);
    const load = async (pos: number, len: number) => {
      const buf = new Uint8Array(Math.min(Math.max(len, 65536), size - pos));
      await file.seek(pos, Deno.SeekMode.Start);
      let got = 0;
      while (got < buf.length) {
        const n = await file.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      [blockStart, block] = [pos, buf.subarray(0, got)];
    };
    return await _scan({
      size,
      read: async (pos, len) => {
        if (pos < blockStart || pos + len > blockStart + block.length) await load(pos, len);
        return block.subarray(pos - blockStart, pos - blockStart + len);
      },
    });
  } finally {
    file.close();
  }
}
