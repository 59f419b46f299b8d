/**
 * `restore`'s inputs: files and directories expanded, each read as an image or a `.npy`.
 *
 * @module
 */

import { UserError } from "../../lib/errors.ts";
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
 * Inputs: files as given; a directory stands for its PNG, JPEG and .npy files, sorted.
 *
 * @param positionals The command line's inputs.
 * @returns The files.
 */
export async function expandInputs(positionals: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of positionals) {
    if (await isDirectory(p)) {
      const names: string[] = [];
      for await (const e of Deno.readDir(p)) {
        if (e.isFile && /\.(png|jpe?g|npy)$/i.test(e.name)) {
          names.push(`${p.replace(/\/$/, "")}/${e.name}`);
        }
      }
      if (names.length === 0) {
        throw new UserError(`${p}: no PNG, JPEG or .npy files in this directory`);
      }
      out.push(...names.sort());
    } else out.push(p);
  }
  return out;
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
