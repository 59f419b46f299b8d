/**
 * Write a file atomically: to a temporary file beside it, then rename.
 *
 * @module
 */

import { UserError } from "./errors.ts";

/**
 * Write `bytes` to `path` so that the file is either complete or absent, never half written.
 *
 * The bytes go to a temporary file in the same directory, which is then renamed over
 * `path`. A missing directory is a {@linkcode UserError} naming it.
 *
 * @example
 * ```ts ignore
 * import { writeFileAtomic } from "./atomic_write.ts";
 * await writeFileAtomic("out.png", new Uint8Array([1, 2, 3]));
 * ```
 *
 * @param path Destination file.
 * @param bytes The whole content.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  try {
    const st = await Deno.stat(dir);
    if (!st.isDirectory) throw new UserError(`cannot write ${path}: ${dir} is not a directory`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(`cannot write ${path}: directory ${dir} does not exist`);
    }
    throw e;
  }
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot write ${path}: ${(e as Error).message}`);
  }
}
