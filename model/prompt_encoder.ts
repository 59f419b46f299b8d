/**
 * A text encoder exported with a DiffBIR pipeline (`text_encoder.onnx` with its manifest
 * `text_encoder.json` and OpenCLIP's BPE vocabulary): prompts in, the denoiser's `context`
 * tensor out (docs/diffbir.md, "Prompts").
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { ClipTokenizer } from "./clip_tokenizer.ts";
import { manifestPathFor, readJsonFile } from "./manifest.ts";
import { createSession, type OrtSession, type SessionOptions } from "./ort_runtime.ts";

/** A text context for a denoiser's `context` input. */
export interface TextContext {
  /** The values. */
  data: Float32Array;
  /** Their shape, [1, tokens, width]. */
  dims: readonly number[];
}

/**
 * Prompts to contexts: OpenCLIP's tokenizer and the exported text transformer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PromptEncoder } from "@diffrestore/sampler";
 *
 * // a text encoder exported with tools/export/diffbir.py: text-encoder.onnx and its manifest
 * await assert.rejects(() => PromptEncoder.load("missing/text-encoder.onnx"), /not found/);
 * ```
 */
export class PromptEncoder {
  /** The ONNX file. */
  readonly name: string;
  /** Tokens per prompt (CLIP: 77). */
  readonly contextLength: number;
  #tokenizer: ClipTokenizer;
  #session: OrtSession;
  #input: string;
  #output: string;
  #cache = new Map<string, TextContext>();

  private constructor(
    name: string,
    tokenizer: ClipTokenizer,
    session: OrtSession,
    io: { input: string; output: string; contextLength: number },
  ) {
    this.name = name;
    this.#tokenizer = tokenizer;
    this.#session = session;
    this.#input = io.input;
    this.#output = io.output;
    this.contextLength = io.contextLength;
  }

  /**
   * Load a text encoder: the ONNX file, its manifest beside it (`inputs.tokens`, `output`,
   * `vocabulary`, `contextLength`) and the vocabulary it names.
   *
   * @example
   * ```ts ignore
   * import { PromptEncoder } from "./prompt_encoder.ts";
   * const text = await PromptEncoder.load("exported/text_encoder.onnx");
   * const { dims } = await text.encode("a photo of a cat");
   * console.log(dims); // [1, 77, 1024]
   * await text.release();
   * ```
   *
   * @param path The ONNX file.
   * @param options Runtime options.
   * @returns The encoder.
   */
  static async load(path: string, options: SessionOptions = {}): Promise<PromptEncoder> {
    const manifestPath = manifestPathFor(path);
    const m = await readJsonFile(manifestPath, "manifest") as Record<string, unknown>;
    const inputs = m.inputs as Record<string, unknown> | undefined;
    if (m.kind !== "text-encoder") {
      throw new UserError(`${manifestPath}: key 'kind' must be text-encoder, found ${m.kind}`);
    }
    for (
      const [key, v] of [["inputs.tokens", inputs?.tokens], ["output", m.output], [
        "vocabulary",
        m.vocabulary,
      ]]
    ) {
      if (typeof v !== "string") {
        throw new UserError(`${manifestPath}: missing required key '${key}'`);
      }
    }
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
    const vocab = m.vocabulary as string;
    const tokenizer = await ClipTokenizer.load(vocab.startsWith("/") ? vocab : dir + vocab);
    await Deno.stat(path).catch(() => {
      throw new UserError(`text encoder ${path} not found`);
    });
    const session = await createSession(path, options);
    const input = inputs!.tokens as string;
    if (!session.inputs.some((i) => i.name === input)) {
      await session.release();
      throw new UserError(
        `${manifestPath}: 'inputs.tokens' names '${input}', not an input of ${path}`,
      );
    }
    const contextLength = typeof m.contextLength === "number" ? m.contextLength : 77;
    return new PromptEncoder(path, tokenizer, session, {
      input,
      output: m.output as string,
      contextLength,
    });
  }

  /**
   * The context of a prompt (computed once per prompt).
   *
   * @param prompt The text.
   * @returns The context tensor.
   */
  async encode(prompt: string): Promise<TextContext> {
    const cached = this.#cache.get(prompt);
    if (cached) return cached;
    const ids = this.#tokenizer.tokenize(prompt, this.contextLength);
    const feed = {
      type: "int64" as const,
      data: BigInt64Array.from(ids, (v) => BigInt(v)),
      dims: [1, ids.length],
    };
    const out = (await this.#session.run({ [this.#input]: feed }, [this.#output]))[this.#output];
    const context = { data: out.data, dims: out.dims };
    this.#cache.set(prompt, context);
    return context;
  }

  /** Release the session. */
  async release(): Promise<void> {
    await this.#session.release();
  }
}
