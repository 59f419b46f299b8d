/**
 * What `restore` says about a run: the summary line or JSON, and the `--compare` sheet with
 * PSNR/SSIM against `--reference`.
 *
 * @module
 */

import type { ParsedArgs } from "../args.ts";
import { UserError } from "../../lib/errors.ts";
import { imageToTensor, readImage, writeImageTensor } from "../../lib/image.ts";
import type { Tensor } from "../../lib/tensor.ts";
import type { RestoreResult } from "../../pipelines/run.ts";
import { stringFlag } from "./flags.ts";

/**
 * Say what was written: one JSON line (`--json`) or one line on stderr.
 *
 * @param values The flags.
 * @param quiet No line on stderr.
 * @param input The input's path.
 * @param output The output's path.
 * @param method The method.
 * @param seed The seed.
 * @param result The run's result.
 */
export function report(
  values: ParsedArgs["values"],
  quiet: boolean,
  input: string,
  output: string,
  method: string,
  seed: number,
  result: RestoreResult,
): void {
  if (values.json) {
    console.log(JSON.stringify({
      input,
      output,
      method,
      model: result.model,
      runtime: result.runtime,
      backend: result.backend,
      seed,
      calls: result.calls,
      seconds: Number(result.seconds.toFixed(3)),
      shape: result.image.shape,
      rewrites: result.rewrites,
    }));
  } else if (!quiet) {
    console.error(
      `wrote ${output} (${result.image.w}x${result.image.h}, ${result.calls} network calls, ${
        result.seconds.toFixed(1)
      } s, ` +
        `${result.runtime} runtime, ${result.backend} backend)`,
    );
  }
}

/**
 * --compare out.png: input (nearest), output and --reference side by side; PSNR/SSIM printed.
 *
 * @param values The flags.
 * @param input The input's path.
 * @param observed The input.
 * @param output The restored image.
 * @param quiet No line on stderr.
 */
export async function compareSheet(
  values: ParsedArgs["values"],
  input: string,
  observed: Tensor,
  output: Tensor,
  quiet: boolean,
): Promise<void> {
  const sheet = stringFlag(values.compare);
  const refPath = stringFlag(values.reference);
  if (!sheet && !refPath) return;
  const { psnr, ssim } = await import("../../lib/metrics.ts");
  const { sideBySide } = await import("../../lib/sheet.ts");
  const clamp = output.map((v) => Math.min(1, Math.max(0, v)));
  const panels = [observed.c === 1 || observed.c === 3 ? observed : output, clamp];
  if (refPath) {
    const ref = imageToTensor(await readImage(refPath), output.c as 1 | 3);
    if (ref.w !== output.w || ref.h !== output.h) {
      throw new UserError(
        `--reference ${refPath} is ${ref.w}x${ref.h}, the output is ${output.w}x${output.h}`,
      );
    }
    panels.push(ref);
    const p = psnr(clamp, ref), q = ssim(clamp, ref);
    if (values.json) {
      console.log(
        JSON.stringify({
          input,
          reference: refPath,
          psnr: Number.isFinite(p) ? p : "inf",
          ssim: q,
        }),
      );
    } else if (!quiet) {
      console.error(`PSNR ${p.toFixed(2)} dB, SSIM ${q.toFixed(4)} against ${refPath}`);
    }
  }
  if (sheet) await writeImageTensor(sheet, sideBySide(panels, output.h));
}
