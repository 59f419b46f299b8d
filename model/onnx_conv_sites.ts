/**
 * The `Conv` nodes of an ONNX graph and the configuration each runs: input and output channels,
 * kernel, strides, dilations, groups and pads, read from the node's attributes and its weight's
 * shape (through the `Cast` or `Identity` a float16 export puts in front of it). The WebGPU
 * provider's guard probes these configurations (docs/ort_webgpu.md).
 *
 * @module
 */

import onnxProto from "npm:onnx-proto@8.0.1";

/** A decoded ONNX model (onnx-proto's `ModelProto`, payloads left as views of the bytes). */
export type OnnxModel = onnxProto.onnx.ModelProto;

/** How one `Conv` runs, apart from its input's spatial size. */
export interface ConvConfig {
  /** Input channels. */
  cin: number;
  /** Output channels. */
  cout: number;
  /** Kernel height and width. */
  kernel: [number, number];
  /** Strides. */
  strides: [number, number];
  /** Dilations. */
  dilations: [number, number];
  /** Groups. */
  group: number;
  /** Pads: top, left, bottom, right. */
  pads: [number, number, number, number];
}

/** A `Conv` node of the graph with its configuration. */
export interface ConvSite {
  /** The node's index in `graph.node`. */
  index: number;
  /** The node's name (or `Conv#index` when it has none). */
  name: string;
  /** Its configuration. */
  config: ConvConfig;
}

/**
 * Decode an ONNX model. Raw payloads stay views of `bytes`, so a large model costs no copy.
 *
 * @example
 * ```ts ignore
 * import { decodeOnnx } from "./onnx_conv_sites.ts";
 * const model = decodeOnnx(await Deno.readFile("net.onnx"));
 * console.log(model.graph?.node?.length);
 * ```
 *
 * @param bytes The `.onnx` file's bytes.
 * @returns The model.
 */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  return onnxProto.onnx.ModelProto.decode(bytes);
}

/**
 * Encode a model back to bytes.
 *
 * @example
 * ```ts ignore
 * import { decodeOnnx, encodeOnnx } from "./onnx_conv_sites.ts";
 * const again = encodeOnnx(decodeOnnx(bytes));
 * ```
 *
 * @param model The model.
 * @returns The `.onnx` bytes.
 */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

/** A protobuf integer as a number (onnx-proto gives int64 fields as `Long`). */
export function protoInt(v: number | { toString(): string } | null | undefined): number {
  return typeof v === "number" ? v : Number(v?.toString() ?? NaN);
}

/**
 * A configuration as a short stable key, e.g. `cin6 cout16 k3x3 s1x1 d1x1 g1 p1,1,1,1`.
 *
 * @example
 * ```ts
 * import { convKey } from "./onnx_conv_sites.ts";
 * const key = convKey({
 *   cin: 6, cout: 16, kernel: [3, 3], strides: [1, 1], dilations: [1, 1], group: 1,
 *   pads: [1, 1, 1, 1],
 * });
 * console.log(key); // cin6 cout16 k3x3 s1x1 d1x1 g1 p1,1,1,1
 * ```
 *
 * @param c The configuration.
 * @returns Its key.
 */
export function convKey(c: ConvConfig): string {
  return `cin${c.cin} cout${c.cout} k${c.kernel.join("x")} s${c.strides.join("x")} ` +
    `d${c.dilations.join("x")} g${c.group} p${c.pads.join(",")}`;
}

/**
 * The graph's 2-D `Conv` nodes whose weight shape is known (an initializer, possibly behind
 * `Cast` or `Identity`). Convolutions with a computed weight, or 1-D/3-D ones, are left out.
 *
 * @example
 * ```ts ignore
 * import { convSites, decodeOnnx } from "./onnx_conv_sites.ts";
 * for (const s of convSites(decodeOnnx(bytes))) console.log(s.name, s.config.cin);
 * ```
 *
 * @param model The decoded model.
 * @returns The sites, in graph order.
 */
export function convSites(model: OnnxModel): ConvSite[] {
  const graph = model.graph;
  if (!graph) return [];
  const dims = new Map<string, number[]>();
  for (const t of graph.initializer ?? []) dims.set(t.name ?? "", (t.dims ?? []).map(protoInt));
  // a float16 export's weights reach the Conv through a Cast
  const producer = new Map<string, onnxProto.onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const shapeOf = (name: string): number[] | undefined => {
    for (let hops = 0; hops < 4; hops++) {
      const d = dims.get(name);
      if (d) return d;
      const p = producer.get(name);
      if (!p || !["Cast", "Identity"].includes(p.opType ?? "")) return undefined;
      name = p.input?.[0] ?? "";
    }
    return undefined;
  };
  const sites: ConvSite[] = [];
  (graph.node ?? []).forEach((n, index) => {
    if (n.opType !== "Conv" || (n.domain ?? "") !== "") return;
    const w = shapeOf(n.input?.[1] ?? "");
    if (!w || w.length !== 4) return;
    const attr = new Map((n.attribute ?? []).map((a) => [a.name ?? "", a]));
    const ints = (k: string, fallback: number[]) => {
      const a = attr.get(k);
      return a?.ints?.length ? a.ints.map(protoInt) : fallback;
    };
    // SAME_* pads depend on the input size: the probe uses explicit zero pads for them
    const autoPad = new TextDecoder().decode(attr.get("auto_pad")?.s ?? new Uint8Array());
    if (autoPad && autoPad !== "NOTSET") return;
    const group = protoInt(attr.get("group")?.i ?? 1) || 1;
    const p = ints("pads", [0, 0, 0, 0]);
    sites.push({
      index,
      name: n.name || `Conv#${index}`,
      config: {
        cin: w[1] * group,
        cout: w[0],
        kernel: [w[2], w[3]],
        strides: ints("strides", [1, 1]) as [number, number],
        dilations: ints("dilations", [1, 1]) as [number, number],
        group,
        pads: [p[0], p[1], p[2], p[3]],
      },
    });
  });
  return sites;
}
