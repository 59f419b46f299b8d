/**
 * `restore`'s outputs checked before any work: the folder an output goes into exists and takes a
 * new file, so a run never fails at its end for a path it could have refused at its start.
 *
 * @module
 */

import { UserError } from "../../lib/errors.ts";

/**
 * Refuse an output path that cannot be written: its folder missing, not a folder, or read-only.
 * A batch's folder may be missing (it is created) if its nearest existing parent takes new
 * entries. Each is a failure of the file system's state (exit 1), not of the flag's form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkWritable } from "./output_check.ts";
 *
 * await checkWritable(`${Deno.makeTempDirSync()}/out.png`, false);
 * await assert.rejects(() => checkWritable("/no/such/folder/out.png", false), /does not exist/);
 * ```
 *
 * @param path The output file, or a batch's folder.
 * @param folder Whether `path` is a batch's folder.
 */
export async function checkWritable(path: string, folder: boolean): Promise<void> {
  const trimmed = path.replace(/\/+$/, "");
  const parent = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) || "/" : ".");
  let dir = folder ? trimmed : parent(trimmed);
  if (folder) {
    const info = await Deno.stat(dir).catch(() => null);
    if (info && !info.isDirectory) throw new UserError(`-o ${path}: not a folder`);
    // created later, with its missing parents: the nearest existing one must take it
    while (!info && !(await Deno.stat(dir).catch(() => null))) dir = parent(dir);
  }
  const info = await Deno.stat(dir).catch(() => null);
  if (!info) throw new UserError(`-o ${path}: the folder ${dir} does not exist`);
  if (!info.isDirectory) throw new UserError(`-o ${path}: ${dir} is not a folder`);
  // the only sure test of writability is a write: a probe file, removed at once
  const probe = await Deno.makeTempFile({ dir, prefix: ".diffrestore-probe-" }).catch((e) => {
    throw new UserError(`-o ${path}: cannot write in ${dir} (${(e as Error).message})`);
  });
  await Deno.remove(probe).catch(() => {});
}
