/**
 * A manifest drafted from an ONNX file alone: the roles, kind, timestep dtype, learned sigma
 * and fixed size guessed from the inputs' and outputs' names, element types and shapes, with a
 * note on every guess a person should check (docs/manifest.md).
 *
 * @module
 */

import type { IoMeta } from "./ort_runtime.ts";

/** A drafted manifest and what to check in it. */
export interface ManifestDraft {
  /** The manifest (JSON-ready). */
  manifest: Record<string, unknown>;
  /** What was guessed and how sure it is, one line each. */
  notes: string[];
}

const _rank = (m: IoMeta) => m.shape?.length ?? -1;
const _dim = (m: IoMeta | undefined, k: number) =>
  typeof m?.shape?.[k] === "number" ? m.shape[k] as number : null;

/**
 * Draft a manifest for a network from its inputs and outputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { draftManifest } from "@diffrestore/sampler/model";
 *
 * const d = draftManifest(
 *   [{ name: "x", type: "float32", shape: ["n", 3, "h", "w"] }, { name: "t", type: "float32", shape: ["n"] }],
 *   [{ name: "eps", type: "float32", shape: ["n", 6, "h", "w"] }],
 * );
 * assert.equal(d.manifest.kind, "ddpm");
 * assert.equal(d.manifest.learnedSigma, true); // six output channels: ε and the variance
 * ```
 *
 * @param inputs The session's inputs.
 * @param outputs The session's outputs.
 * @returns The draft and notes.
 */
export function draftManifest(
  inputs: readonly IoMeta[],
  outputs: readonly IoMeta[],
): ManifestDraft {
  const notes: string[] = [];
  const out = outputs[0];
  const images = inputs.filter((i) => _rank(i) === 4 && i.type !== "int64");
  const vectors = inputs.filter((i) => _rank(i) <= 1);
  const tokens = inputs.find((i) => i.type === "int64" && _rank(i) === 2);
  const roles: Record<string, string> = {};
  const manifest: Record<string, unknown> = { inputs: roles, output: out?.name ?? "output" };
  if (tokens && images.length === 0) {
    roles.tokens = tokens.name;
    Object.assign(manifest, { kind: "text-encoder", contextLength: _dim(tokens, 1) ?? 77 });
    notes.push("kind text-encoder: an int64 [n, tokens] input; name its 'vocabulary' file");
    return { manifest, notes };
  }
  const x = images.find((i) => /^(x|x_t|xt|sample|latent|image|input|lq)$/i.test(i.name)) ??
    images[0];
  if (!x) {
    notes.push(
      "no 4-D image input: this is not a network diffrestore runs; fill the roles by hand",
    );
    return { manifest: { ...manifest, kind: "restorer" }, notes };
  }
  roles.x = x.name;
  const t = vectors.find((i) => /^(t|time|timestep|timesteps|sigma)$/i.test(i.name)) ??
    vectors.find((i) => i.type !== "int64" || !/^(y|label|class)/i.test(i.name));
  const c = _dim(x, 1);
  const oc = _dim(out, 1);
  if (t) {
    roles.t = t.name;
    manifest.timestep = { dtype: t.type === "int64" ? "int64" : "float32" };
    const second = images.find((i) => i !== x);
    const label = vectors.find((i) => i !== t && i.type === "int64");
    const context = inputs.find((i) => _rank(i) === 3);
    const strength = vectors.find((i) => i !== t && i !== label && i.type !== "int64");
    if (second && (c === 4 || context)) {
      roles.cond = second.name;
      if (context) roles.context = context.name;
      if (strength) roles.strength = strength.name;
      Object.assign(manifest, { kind: "latent-denoiser", prediction: "eps", channels: c ?? 4 });
      notes.push(
        "kind latent-denoiser: a timestep and a second latent input; check 'prediction' (eps or v) and 'schedule'",
      );
    } else if (second) {
      roles.mu = second.name;
      Object.assign(manifest, {
        kind: "irsde",
        prediction: "noise",
        range: [0, 1],
        channels: c ?? 3,
      });
      notes.push("kind irsde: a timestep and a second image input (mu); give the 'sde' block");
    } else {
      if (label) roles.y = label.name;
      Object.assign(manifest, {
        kind: "ddpm",
        prediction: "eps",
        range: [-1, 1],
        channels: c ?? 3,
      });
      notes.push(
        "kind ddpm: one image and a timestep (an IR-SDE DenoisingSDE network looks the same: then kind irsde)",
      );
      if (c !== null && oc === 2 * c) {
        manifest.learnedSigma = true;
        notes.push(`learnedSigma: the output has ${oc} channels for ${c} in`);
      }
      manifest.schedule = { beta: "linear", betaStart: 0.0001, betaEnd: 0.02, trainSteps: 1000 };
      notes.push("schedule: DDPM's linear 1e-4..0.02 over 1000 steps assumed; check it");
    }
  } else {
    const kind = c === 3 && oc === 4
      ? "vae-encoder"
      : c === 4 && oc === 3
      ? "vae-decoder"
      : "restorer";
    manifest.kind = kind;
    manifest.range = kind === "restorer" ? [0, 1] : [-1, 1];
    notes.push(
      kind === "restorer"
        ? "kind restorer: one image in and out; check 'range' and 'upscale'"
        : `kind ${kind}: ${c} channels in, ${oc} out; check 'range'`,
    );
  }
  const h = _dim(x, 2), w = _dim(x, 3);
  if (h !== null && w !== null && manifest.kind !== "restorer") {
    manifest.size = [h, w];
    notes.push(`size: the input is fixed at ${h}x${w}`);
  }
  // keys in the documented order
  const order = [
    "kind",
    "inputs",
    "output",
    "prediction",
    "learnedSigma",
    "timestep",
    "range",
    "channels",
    "size",
    "schedule",
    "sde",
    "contextLength",
  ];
  const sorted = Object.fromEntries(
    order.filter((k) => k in manifest).map((k) => [k, manifest[k]]),
  );
  return { manifest: sorted, notes };
}
