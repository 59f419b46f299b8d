/**
 * The preview's sessions: one per concurrent slot and method, created on first need on the wasm
 * runtime and reused, and each method's manifest read once (its default steps per task).
 *
 * @module
 */

import { loadModel } from "../model/builtin_models.ts";
import type { Model } from "../model/model.ts";
import type { ModelManifest } from "../model/manifest.ts";
import { PREVIEW_STEPS } from "./limits.ts";

/** The preview's methods. */
export type PreviewMethod = "ddnm" | "irsde";

/**
 * Idle sessions by method, and the manifests they were made from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelPool } from "./model_pool.ts";
 *
 * const pool = new ModelPool({ ddnm: "builtin:unet-edge", irsde: "builtin:irsde" });
 * assert.equal(await pool.steps("irsde", "denoise"), 10); // the T it was trained with
 * const model = await pool.take("irsde"); // the session the manifest was read from
 * pool.give("irsde", model);
 * assert.equal(await pool.take("irsde"), model);
 * await model.release();
 * ```
 */
export class ModelPool {
  readonly #specs: Record<PreviewMethod, string>;
  readonly #threads?: number;
  readonly #idle: Record<PreviewMethod, Model[]> = { ddnm: [], irsde: [] };
  readonly #manifests: Partial<Record<PreviewMethod, Promise<ModelManifest>>> = {};

  /**
   * A pool of the given models.
   *
   * @param specs Each method's model (a path or `builtin:` name).
   * @param threads Threads of the wasm runtime (default one: its pool can hang a call,
   * docs/ort_wasm_threads.md).
   */
  constructor(specs: Record<PreviewMethod, string>, threads?: number) {
    this.#specs = specs;
    this.#threads = threads;
  }

  /**
   * An idle session of a method's model, or a new one.
   *
   * @param method The method.
   * @returns The model, the caller's until it gives it back.
   */
  async take(method: PreviewMethod): Promise<Model> {
    return this.#idle[method].pop() ??
      await loadModel(this.#specs[method], { runtime: "wasm", threads: this.#threads });
  }

  /**
   * Give a session back for the next request.
   *
   * @param method Its method.
   * @param model The model.
   */
  give(method: PreviewMethod, model: Model): void {
    this.#idle[method].push(model);
  }

  /**
   * The steps a method's model runs by default for a task: the manifest's per-task steps, its
   * default steps, else the preview's; IR-SDE's trained T.
   *
   * @param method The method.
   * @param task The task.
   * @returns The steps.
   */
  async steps(method: PreviewMethod, task: string): Promise<number> {
    // read once, from the first session (later requests create none)
    const m = await (this.#manifests[method] ??= this.take(method).then((model) => {
      this.give(method, model);
      return model.manifest;
    }));
    return method === "irsde"
      ? m.sde?.T ?? 100
      : m.defaults.tasks?.[task]?.steps ?? m.defaults.steps ?? PREVIEW_STEPS;
  }
}
