/**
 * Model manifests (`<model>.json`): what an ONNX network expects and returns.
 *
 * See docs/manifest.md. Unknown keys are ignored; a missing or malformed required key
 * is a {@linkcode UserError} naming it.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import type { BetaScheduleName } from "../schedules/beta_schedule.ts";
import type { SdeSettings, ThetaScheduleName } from "../schedules/irsde_schedule.ts";
import type { ScheduleSpec } from "../schedules/training_schedule.ts";

/** The kinds of network a manifest describes. */
export type ModelKind =
  | "ddpm"
  | "irsde"
  | "restorer"
  | "vae-encoder"
  | "vae-decoder"
  | "latent-denoiser";

/** What the network's output means. */
export type Prediction = "eps" | "v" | "x0" | "noise";

/** A validated model manifest. */
export interface ModelManifest {
  /** The network's kind. */
  kind: ModelKind;
  /** Role → ONNX input name (`x` always; `t`, `mu`, `cond`, `context`, `strength` by kind). */
  inputs: Record<string, string>;
  /** The ONNX output name. */
  output: string;
  /** What the output means (diffusion kinds). */
  prediction: Prediction;
  /** The output has 2C channels; keep the first C. */
  learnedSigma: boolean;
  /** Element type of the timestep input. */
  timestepDtype: "float32" | "int64";
  /** The image range the network works in. */
  range: [number, number];
  /** Channels of `x`. */
  channels: number;
  /** A fixed input size [H, W], or null for any size. */
  size: [number, number] | null;
  /** The DDPM schedule (ddpm and latent-denoiser). */
  schedule: ScheduleSpec;
  /** The IR-SDE settings (irsde), when the manifest gives them. */
  sde: SdeSettings | null;
  /** Sampler settings the model recommends (flags override them); `solver` is IR-SDE's, `tasks`
   * DDNM's per task (docs/manifest.md). */
  defaults: {
    eta?: number;
    steps?: number;
    solver?: "sde" | "ode" | "posterior";
    /** Per task name: T_sampling, η, the time-travel length and repeats, the warm start's share
     * and the samples averaged. */
    tasks?: Record<
      string,
      {
        steps?: number;
        eta?: number;
        travelLength?: number;
        travelRepeat?: number;
        warmStart?: number;
        samples?: number;
      }
    >;
  };
  /** VAE latent scale factor (SD: 0.18215). */
  scaleFactor: number;
  /** Spatial factor of a VAE (8) or a restorer's upscale (1). */
  spatialFactor: number;
}

const _KINDS: ModelKind[] = [
  "ddpm",
  "irsde",
  "restorer",
  "vae-encoder",
  "vae-decoder",
  "latent-denoiser",
];
const _ROLES: Record<ModelKind, string[]> = {
  ddpm: ["x", "t"],
  irsde: ["x", "t"], // no `mu`: the DenoisingSDE variant (unconditional network)
  restorer: ["x"],
  "vae-encoder": ["x"],
  "vae-decoder": ["x"],
  "latent-denoiser": ["x", "t", "cond"],
};
const _DEFAULT_RANGE: Record<ModelKind, [number, number]> = {
  ddpm: [-1, 1],
  irsde: [0, 1],
  restorer: [0, 1],
  "vae-encoder": [-1, 1],
  "vae-decoder": [-1, 1],
  "latent-denoiser": [-1, 1],
};

type _Json = Record<string, unknown>;

function _isObject(v: unknown): v is _Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function _num(obj: _Json, key: string, where: string, fallback?: number): number {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new UserError(`${where}: key '${key}' must be a number, found ${JSON.stringify(v)}`);
  }
  return v;
}

// defaults.tasks: per task name, the numeric settings it names (others are ignored)
type _TaskDefaults = NonNullable<ModelManifest["defaults"]["tasks"]>[string];
function _taskDefaults(raw: Record<string, unknown>): Record<string, _TaskDefaults> {
  const out: Record<string, _TaskDefaults> = {};
  for (const [task, v] of Object.entries(raw)) {
    if (!_isObject(v)) continue;
    const d: _TaskDefaults = {};
    for (
      const k of ["steps", "eta", "travelLength", "travelRepeat", "warmStart", "samples"] as const
    ) {
      if (typeof v[k] === "number") d[k] = v[k] as number;
    }
    out[task] = d;
  }
  return out;
}

function _oneOf<T extends string>(
  v: unknown,
  allowed: readonly T[],
  key: string,
  where: string,
): T {
  if (typeof v !== "string" || !allowed.includes(v as T)) {
    throw new UserError(
      `${where}: key '${key}' must be one of ${allowed.join(", ")}, found ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

/**
 * Parse an IR-SDE settings block (`sde`), as in the manifest.
 *
 * @param v The block.
 * @param where File name for messages.
 * @returns The settings.
 */
export function parseSde(v: unknown, where: string): SdeSettings {
  if (!_isObject(v)) throw new UserError(`${where}: key 'sde' must be an object`);
  return {
    maxSigma: _num(v, "maxSigma", `${where} sde`),
    T: _num(v, "T", `${where} sde`, 100),
    schedule: _oneOf<ThetaScheduleName>(
      v.schedule ?? "cosine",
      ["cosine", "linear", "constant"],
      "sde.schedule",
      where,
    ),
    eps: _num(v, "eps", `${where} sde`, 0.01),
  };
}

/** Collects a check's problem and returns its fallback (every problem is reported at once). */
type _Check = <T>(f: () => T, fallback: T) => T;

/** The `inputs` block: role -> input name, with every role the kind needs. */
function _inputs(raw: unknown, kind: ModelKind, where: string): Record<string, string> {
  if (!_isObject(raw)) throw new UserError(`${where}: missing required key 'inputs'`);
  const inputs: Record<string, string> = {};
  for (const [role, name] of Object.entries(raw)) {
    if (typeof name !== "string") {
      throw new UserError(`${where}: key 'inputs.${role}' must be a string`);
    }
    inputs[role] = name;
  }
  const missing = _ROLES[kind].filter((role) => !(role in inputs));
  if (missing.length) {
    throw new UserError(
      `${where}: missing required key ${
        missing.map((r) => `'inputs.${r}'`).join(", ")
      } for kind ${kind}`,
    );
  }
  return inputs;
}

/** The `schedule` block, with the kind's defaults (a latent denoiser's are Stable Diffusion's). */
function _schedule(raw: unknown, kind: ModelKind, where: string, check: _Check): ScheduleSpec {
  const sched = _isObject(raw) ? raw : {};
  const latent = kind === "latent-denoiser";
  return {
    beta: check(() =>
      _oneOf<BetaScheduleName>(
        sched.beta ?? (latent ? "scaled_linear" : "linear"),
        ["linear", "scaled_linear", "quad", "cosine", "const", "jsd", "sigmoid"],
        "schedule.beta",
        where,
      ), "linear" as BetaScheduleName),
    betaStart: check(
      () => _num(sched, "betaStart", `${where} schedule`, latent ? 0.00085 : 1e-4),
      0,
    ),
    betaEnd: check(() => _num(sched, "betaEnd", `${where} schedule`, latent ? 0.012 : 0.02), 0),
    trainSteps: check(() => _num(sched, "trainSteps", `${where} schedule`, 1000), 1000),
    zeroTerminalSnr: sched.zeroTerminalSnr === true,
  };
}

/**
 * Validate a parsed manifest object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseManifest } from "@diffrestore/sampler/model";
 *
 * const m = parseManifest({ kind: "ddpm", inputs: { x: "x", t: "t" }, output: "eps" }, "net.json");
 * assert.deepEqual(m.range, [-1, 1]);
 * assert.equal(m.prediction, "eps");
 * assert.throws(() => parseManifest({ kind: "gan" }, "bad.json"), /bad\.json: key 'kind'/);
 * ```
 *
 * @param json The manifest's JSON value.
 * @param where The manifest's file name for messages.
 * @returns The manifest with defaults filled in.
 */
export function parseManifest(json: unknown, where: string): ModelManifest {
  if (!_isObject(json)) throw new UserError(`${where}: a manifest must be a JSON object`);
  // every problem of the file is reported at once, in one line
  const problems: string[] = [];
  const check: _Check = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      problems.push(e.message);
      return fallback;
    }
  };
  const kind = check(() => {
    if (json.kind === undefined) throw new UserError(`${where}: missing required key 'kind'`);
    return _oneOf(json.kind, _KINDS, "kind", where);
  }, "ddpm" as ModelKind);
  const inputs = check(() => _inputs(json.inputs, kind, where), {});
  check(() => {
    if (typeof json.output !== "string") {
      throw new UserError(`${where}: missing required key 'output'`);
    }
  }, undefined);
  const range = check(() => {
    const r = json.range ?? _DEFAULT_RANGE[kind];
    if (
      !Array.isArray(r) || r.length !== 2 || !r.every((v) => typeof v === "number") ||
      r[0] >= r[1]
    ) {
      throw new UserError(
        `${where}: key 'range' must be [lo, hi] with lo < hi, found ${JSON.stringify(r)}`,
      );
    }
    return [r[0], r[1]] as [number, number];
  }, [-1, 1] as [number, number]);
  const size = check(() => {
    const s = json.size;
    if (s === undefined) return null;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isInteger(v) && v > 0)) {
      throw new UserError(
        `${where}: key 'size' must be [H, W] positive integers, found ${JSON.stringify(s)}`,
      );
    }
    return [s[0], s[1]] as [number, number];
  }, null);
  const schedule = _schedule(json.schedule, kind, where, check);
  const ts = _isObject(json.timestep) ? json.timestep : {};
  const defaults = _isObject(json.defaults) ? json.defaults : {};
  const manifest: ModelManifest = {
    kind,
    inputs,
    output: json.output as string,
    prediction: check(() =>
      _oneOf<Prediction>(
        json.prediction ?? (kind === "irsde" ? "noise" : "eps"),
        ["eps", "v", "x0", "noise"],
        "prediction",
        where,
      ), "eps" as Prediction),
    learnedSigma: json.learnedSigma === true,
    timestepDtype: check(
      () => _oneOf(ts.dtype ?? "float32", ["float32", "int64"] as const, "timestep.dtype", where),
      "float32" as const,
    ),
    range,
    channels: check(() => _num(json, "channels", where, kind === "latent-denoiser" ? 4 : 3), 3),
    size,
    schedule,
    sde: check(() => (json.sde === undefined ? null : parseSde(json.sde, where)), null),
    defaults: {
      eta: typeof defaults.eta === "number" ? defaults.eta : undefined,
      steps: typeof defaults.steps === "number" ? defaults.steps : undefined,
      tasks: _isObject(defaults.tasks) ? _taskDefaults(defaults.tasks) : undefined,
      solver: defaults.solver === undefined ? undefined : check(
        () =>
          _oneOf(defaults.solver, ["sde", "ode", "posterior"] as const, "defaults.solver", where),
        undefined,
      ),
    },
    scaleFactor: check(() => _num(json, "scaleFactor", where, 0.18215), 0.18215),
    spatialFactor: check(() =>
      _num(
        json,
        kind === "vae-encoder" ? "downscale" : "upscale",
        where,
        kind.startsWith("vae") ? 8 : 1,
      ), 1),
  };
  if (problems.length) {
    throw new UserError(
      problems.map((p, i) => (i === 0 ? p : p.replace(new RegExp(`^${_escape(where)}:? ?`), "")))
        .join("; "),
    );
  }
  return manifest;
}

function _escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The manifest path for a model: `--model-spec` when given, else `<basename>.json` beside it.
 *
 * @param modelPath The `.onnx` path.
 * @param specPath An explicit manifest path.
 * @returns The manifest's path.
 */
export function manifestPathFor(modelPath: string, specPath?: string): string {
  if (specPath) return specPath;
  return modelPath.replace(/\.onnx$/i, "") + ".json";
}

/**
 * Read and validate a manifest file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readManifest } from "@diffrestore/sampler/model";
 *
 * const path = `${await Deno.makeTempDir()}/net.json`;
 * await Deno.writeTextFile(path, '{"kind": "irsde", "inputs": {"x": "x", "mu": "mu", "t": "t"}, "output": "n"}');
 * const m = await readManifest(path);
 * assert.equal(m.prediction, "noise"); // an IR-SDE network predicts the SDE's noise
 * ```
 *
 * @param path The manifest's path.
 * @returns The manifest.
 */
export async function readManifest(path: string): Promise<ModelManifest> {
  return parseManifest(await readJsonFile(path, "model manifest"), path);
}

/**
 * Read a JSON file, turning a missing file or bad JSON into a {@linkcode UserError}.
 *
 * @param path The file.
 * @param what What the file is, for messages.
 * @returns The parsed value.
 */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${what} ${path} not found`);
    throw new UserError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
