/**
 * The guard between a model and ONNX Runtime's WebGPU provider: every `Conv` configuration of the
 * graph is probed against wasm, and a configuration that probes wrong is rewritten into an exact
 * equivalent that probes right: its input channels padded with zeros (input and weight), or else
 * split into two convolutions over channel ranges whose outputs are added. With neither, the
 * model is refused: a wrong image is never returned silently (docs/ort_webgpu.md).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import {
  type ConvConfig,
  convKey,
  type ConvSite,
  convSites,
  decodeOnnx,
  encodeOnnx,
  type OnnxModel,
  protoInt,
} from "./onnx_conv_sites.ts";
import onnxProto from "npm:onnx-proto@8.0.1";

/** What the guard did to one `Conv` node. */
export interface ConvRewrite {
  /** The node's name. */
  node: string;
  /** Its configuration ({@linkcode convKey}). */
  config: string;
  /** The provider's largest difference from wasm on that configuration. */
  maxDiff: number;
  /** What replaced it, e.g. `input channels padded 6 → 7` or `split 6 = 4 + 2`. */
  action: string;
}

/** Probe configurations: key → largest difference from wasm. */
export type ConvProber = (configs: readonly ConvConfig[]) => Promise<Map<string, number>>;

/** The fix chosen for a failing configuration. */
type _Fix = { pad: number } | { split: number };

/** How many zero channels a pad may add, and so how many configurations a fix probes. */
const _MAX_PAD = 8;

/** Pads of 1 to 8 zero channels. */
function _pads(c: ConvConfig): ConvConfig[] {
  return c.group !== 1
    ? []
    : Array.from({ length: _MAX_PAD }, (_, e) => ({ ...c, cin: c.cin + e + 1 }));
}

/** Splits into a first part of a power of two or half the channels (largest first). */
function _splits(c: ConvConfig): number[] {
  if (c.group !== 1) return [];
  const firsts = new Set([Math.floor(c.cin / 2)]);
  for (let p = 1; p < c.cin; p *= 2) firsts.add(p);
  return [...firsts].filter((a) => a > 0 && a < c.cin).sort((x, y) => y - x);
}

async function _plan(
  failing: ConvConfig[],
  probe: ConvProber,
  tolerance: number,
): Promise<Map<string, _Fix | null>> {
  const ok = (diffs: Map<string, number>, c: ConvConfig) =>
    (diffs.get(convKey(c)) ?? Infinity) <= tolerance;
  const padDiffs = await probe(failing.flatMap(_pads));
  const plan = new Map<string, _Fix | null>();
  for (const c of failing) {
    const pad = _pads(c).find((p) => ok(padDiffs, p));
    if (pad) plan.set(convKey(c), { pad: pad.cin - c.cin });
  }
  // splits are probed only for what no pad fixes
  const rest = failing.filter((c) => !plan.has(convKey(c)));
  const parts = (c: ConvConfig, a: number) => [{ ...c, cin: a }, { ...c, cin: c.cin - a }];
  const splitDiffs = await probe(rest.flatMap((c) => _splits(c).flatMap((a) => parts(c, a))));
  for (const c of rest) {
    const first = _splits(c).find((a) => parts(c, a).every((p) => ok(splitDiffs, p)));
    plan.set(convKey(c), first ? { split: first } : null);
  }
  return plan;
}

/** Adds nodes and constants to a decoded graph. */
class _GraphEdit {
  #graph: onnxProto.onnx.IGraphProto;
  #opset: number;
  #n = 0;

  constructor(model: OnnxModel) {
    this.#graph = model.graph!;
    const ai = (model.opsetImport ?? []).find((o) => (o.domain ?? "") === "");
    this.#opset = protoInt(ai?.version ?? 17);
  }

  name(base: string): string {
    return `${base}__guard${this.#n++}`;
  }

  ints(base: string, values: number[]): string {
    const name = this.name(base);
    const data = BigInt64Array.from(values.map(BigInt));
    this.#graph.initializer!.push({
      name,
      dims: [values.length],
      dataType: onnxProto.onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  /** Pad axis 1 of a rank-4 value at its end with `extra` zeros. */
  padChannels(value: string, extra: number): onnxProto.onnx.INodeProto {
    const pads = [0, 0, 0, 0, 0, extra, 0, 0];
    const out = this.name(value);
    // Pad takes its pads as an input from opset 11 on, as an attribute before
    return this.#opset >= 11
      ? { opType: "Pad", input: [value, this.ints("pads", pads)], output: [out], name: out }
      : {
        opType: "Pad",
        input: [value],
        output: [out],
        name: out,
        attribute: [{ name: "pads", type: 7, ints: pads }],
      };
  }

  /** Channels [from, to) of a rank-4 value. */
  sliceChannels(value: string, from: number, to: number): onnxProto.onnx.INodeProto {
    const out = this.name(value);
    return {
      opType: "Slice",
      input: [value, this.ints("starts", [from]), this.ints("ends", [to]), this.ints("axes", [1])],
      output: [out],
      name: out,
    };
  }
}

function _rewrite(model: OnnxModel, site: ConvSite, fix: _Fix, edit: _GraphEdit) {
  const nodes = model.graph!.node!;
  const conv = nodes[site.index];
  const [x, w, b] = conv.input ?? [];
  if ("pad" in fix) {
    const px = edit.padChannels(x, fix.pad), pw = edit.padChannels(w, fix.pad);
    conv.input = [px.output![0], pw.output![0], ...(b ? [b] : [])];
    return { before: [px, pw], replace: [conv] };
  }
  const cin = site.config.cin, a = fix.split;
  const parts = [[0, a], [a, cin]].map(([from, to], i) => {
    const sx = edit.sliceChannels(x, from, to), sw = edit.sliceChannels(w, from, to);
    const out = edit.name(conv.output![0]);
    const part: onnxProto.onnx.INodeProto = {
      ...conv,
      name: edit.name(site.name),
      input: [sx.output![0], sw.output![0], ...(b && i === 0 ? [b] : [])],
      output: [out],
    };
    return { nodes: [sx, sw, part], out };
  });
  const add: onnxProto.onnx.INodeProto = {
    opType: "Add",
    name: edit.name(`${site.name}_sum`),
    input: parts.map((p) => p.out),
    output: [conv.output![0]],
  };
  return { before: [], replace: [...parts.flatMap((p) => p.nodes), add] };
}

/**
 * Probe a model's `Conv` configurations on the WebGPU provider and rewrite those that probe
 * wrong. A model whose configurations all probe right comes back as the same bytes.
 *
 * @example
 * ```ts ignore
 * import { guardWebGpuConvs } from "./webgpu_conv_guard.ts";
 * import { probeConvConfigs } from "./webgpu_conv_probe.ts";
 * const { bytes, rewrites } = await guardWebGpuConvs(model, (c) => probeConvConfigs(c, device));
 * for (const r of rewrites) console.log(r.node, r.action);
 * ```
 *
 * @param bytes The `.onnx` bytes.
 * @param probe Probes configurations (on the device the model will run on).
 * @param tolerance Largest difference from wasm a configuration may show.
 * @returns The bytes to run and what was rewritten.
 */
export async function guardWebGpuConvs(
  bytes: Uint8Array,
  probe: ConvProber,
  tolerance: number,
): Promise<{ bytes: Uint8Array; rewrites: ConvRewrite[] }> {
  let model: OnnxModel;
  try {
    model = decodeOnnx(bytes);
  } catch {
    return { bytes, rewrites: [] }; // not ONNX: session creation says so in its own words
  }
  const sites = convSites(model);
  if (!sites.length) return { bytes, rewrites: [] };
  const diffs = await probe(sites.map((s) => s.config));
  const bad = sites.filter((s) => !((diffs.get(convKey(s.config)) ?? Infinity) <= tolerance));
  if (!bad.length) return { bytes, rewrites: [] };
  const unique = [...new Map(bad.map((s) => [convKey(s.config), s.config])).values()];
  const plan = await _plan(unique, probe, tolerance);
  const edit = new _GraphEdit(model);
  const rewrites: ConvRewrite[] = [];
  const changes = new Map<number, ReturnType<typeof _rewrite>>();
  for (const site of bad) {
    const key = convKey(site.config), fix = plan.get(key);
    const maxDiff = diffs.get(key) ?? Infinity;
    if (!fix) {
      throw UserError.about(
        "runtime",
        `ONNX Runtime's WebGPU provider miscomputes Conv ${site.name} (${key}: max |d| ${
          maxDiff.toPrecision(3)
        } against wasm) and no exact rewrite of it probes right; run it on the wasm or native runtime`,
      );
    }
    changes.set(site.index, _rewrite(model, site, fix, edit));
    rewrites.push({
      node: site.name,
      config: key,
      maxDiff,
      action: "pad" in fix
        ? `input channels padded with zeros ${site.config.cin} → ${site.config.cin + fix.pad}`
        : `split over input channels ${site.config.cin} = ${fix.split} + ${
          site.config.cin - fix.split
        }`,
    });
  }
  // new nodes go right before the node they replace: the graph stays in topological order
  model.graph!.node = model.graph!.node!.flatMap((n, i) => {
    const c = changes.get(i);
    return c ? [...c.before, ...c.replace] : [n];
  });
  return { bytes: encodeOnnx(model), rewrites };
}
