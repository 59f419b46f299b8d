/**
 * `restore`'s inputs: files and directories expanded, each read as an image or a `.npy`.
 *
 * @module
 */

import { UserError } from "../../lib/errors.ts";
import { type ParsedArgs, UsageError } from "../args.ts";
import { type DecodedImage, imageToTensor, readImage } from "../../lib/image.ts";
import { readNpyFile } from "../../lib/npy.ts";
import { Tensor } from "../../lib/tensor.ts";

/**
 * Whether `path` is a directory.
 *
 * @param path The path.
 * @returns True for a directory.
 */
export async function isDirectory(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isDirectory, () => false);
}

/**
 * A file name without its folder and extension.
 *
 * @param path The path.
 * @returns The stem.
 */
export function stem(path: string): string {
  const base = path.split("/").pop() ?? path;
  return base.replace(/\.[^.]+$/, "");
}

/**
 * Inputs: files as given; a directory stands for its PNG, JPEG and .npy files, sorted. Other files
 * in a directory are returned as skipped, for the command to list.
 *
 * @param positionals The command line's inputs.
 * @returns The files, and the directories' files that are not inputs.
 */
export async function expandInputs(
  positionals: string[],
): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [], skipped: string[] = [];
  for (const p of positionals) {
    if (await isDirectory(p)) {
      const names: string[] = [];
      for await (const e of Deno.readDir(p)) {
        if (!e.isFile || e.name.startsWith(".")) continue;
        const path = `${p.replace(/\/$/, "")}/${e.name}`;
        (/\.(png|jpe?g|npy)$/i.test(e.name) ? names : skipped).push(path);
      }
      if (names.length === 0) {
        throw new UserError(`${p}: no PNG, JPEG or .npy files in this directory`);
      }
      files.push(...names.sort());
    } else files.push(p);
  }
  return { files, skipped: skipped.sort() };
}

/**
 * Read one input: an image (decoded, in [0,1]) or a `.npy` measurement array as it is.
 *
 * @param path The input.
 * @param maxPixels Pixel limit of images.
 * @returns The decoded image (null for `.npy`) and the observation tensor.
 */
export async function readObserved(
  path: string,
  maxPixels: number,
): Promise<{ image: DecodedImage | null; observed: Tensor }> {
  if (path.toLowerCase().endsWith(".npy")) {
    const a = await readNpyFile(path);
    const s = a.shape.length === 4 ? a.shape : [1, 1, 1, a.data.length];
    return { image: null, observed: new Tensor([s[0], s[1], s[2], s[3]], a.data) };
  }
  const image = await readImage(path, { maxPixels });
  return { image, observed: imageToTensor(image) };
}

/**
 * Where each input's result goes: `output` itself for one input; in a batch, `DIR/<stem>.png`,
 * and `DIR/<stem>-<ext>.png` (`a-jpg.png`), then `DIR/<stem>-<ext>-2.png`, for an input whose
 * name an earlier one took: never a doubled extension. No output may land on an input or on
 * another output.
 *
 * @param inputs The input files.
 * @param output The output file, or the folder of a batch.
 * @param batch Several inputs or a folder.
 * @returns One output path per input.
 */
export function outputTargets(inputs: string[], output: string, batch: boolean): string[] {
  const dir = output.replace(/\/$/, "");
  const taken = new Set<string>();
  const targets = inputs.map((input) => {
    if (!batch) return output;
    const ext = /\.([^./]+)$/.exec(input)?.[1]?.toLowerCase() ?? "";
    let name = `${stem(input)}.png`;
    if (taken.has(name.toLowerCase())) name = `${stem(input)}-${ext}.png`;
    for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${stem(input)}-${ext}-${k}.png`;
    taken.add(name.toLowerCase());
    return `${dir}/${name}`;
  });
  const absolute = (p: string) => _normalize(p.startsWith("/") ? p : `${Deno.cwd()}/${p}`);
  const ins = new Set(inputs.map(absolute));
  for (const t of targets) {
    if (ins.has(absolute(t))) {
      throw new UsageError(`${t}: the output would overwrite an input; choose another -o`);
    }
  }
  return targets;
}

function _normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== "." && p !== "") parts.push(p);
  }
  return "/" + parts.join("/");
}

/**
 * The input's alpha for a PNG output, resized (nearest) to the output's size: it passes
 * through every task but inpainting without `--mask`, whose holes it marks.
 *
 * @param image The decoded input (null for `.npy`).
 * @param result The restored image.
 * @param values The flags.
 * @returns The alpha plane, or null.
 */
export function passThroughAlpha(
  image: DecodedImage | null,
  result: Tensor,
  values: ParsedArgs["values"],
): Float32Array | null {
  if (!image?.alpha || (values.task === "inpaint" && values.mask === undefined)) return null;
  const { width: w, height: h, alpha } = image;
  const out = new Float32Array(result.h * result.w);
  for (let y = 0; y < result.h; y++) {
    const sy = Math.min(h - 1, Math.floor((y * h) / result.h));
    for (let x = 0; x < result.w; x++) {
      out[y * result.w + x] = alpha[sy * w + Math.min(w - 1, Math.floor((x * w) / result.w))];
    }
  }
  return out;
}
