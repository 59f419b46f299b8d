// Test helper: writes PNGs of every colour type, bit depth and interlacing from raw samples.
import { deflateSync } from "node:zlib";
import { pngChunk as chunk } from "../lib/png.ts";

export interface RawPng {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Interleaved integer samples (palette indices for colour type 3). */
  samples: number[];
  palette?: [number, number, number][];
  interlaced?: boolean;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

function packRows(p: RawPng, xs: number[], ys: number[]): number[] {
  const ch = CHANNELS[p.colorType];
  const out: number[] = [];
  for (const y of ys) {
    out.push(0);
    let acc = 0, nbits = 0;
    for (const x of xs) {
      for (let c = 0; c < ch; c++) {
        const s = p.samples[(y * p.width + x) * ch + c];
        if (p.bitDepth === 16) out.push(s >> 8, s & 0xff);
        else if (p.bitDepth === 8) out.push(s);
        else {
          acc = (acc << p.bitDepth) | s;
          nbits += p.bitDepth;
          if (nbits === 8) {
            out.push(acc);
            acc = 0;
            nbits = 0;
          }
        }
      }
    }
    if (nbits > 0) out.push(acc << (8 - nbits));
  }
  return out;
}

export function writePng(p: RawPng): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, p.width);
  v.setUint32(4, p.height);
  ihdr[8] = p.bitDepth;
  ihdr[9] = p.colorType;
  ihdr[12] = p.interlaced ? 1 : 0;
  const range = (a: number, n: number, s: number) => {
    const r: number[] = [];
    for (let i = a; i < n; i += s) r.push(i);
    return r;
  };
  let raw: number[] = [];
  if (p.interlaced) {
    for (const [x0, y0, dx, dy] of ADAM7) {
      const xs = range(x0, p.width, dx), ys = range(y0, p.height, dy);
      if (xs.length && ys.length) raw = raw.concat(packRows(p, xs, ys));
    }
  } else raw = packRows(p, range(0, p.width, 1), range(0, p.height, 1));
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr)];
  if (p.palette) parts.push(chunk("PLTE", new Uint8Array(p.palette.flat())));
  parts.push(chunk("IDAT", new Uint8Array(deflateSync(new Uint8Array(raw)))));
  parts.push(chunk("IEND", new Uint8Array()));
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}
