/**
 * `info`: what this installation can run (runtimes, WebGPU adapter).
 *
 * @module
 */

import { registerCommand } from "./registry.ts";
import { parseFlags } from "../cli_args.ts";

async function _info(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { help: { type: "boolean", short: "h" } }, "info");
  if (values.help) {
    console.log(
      "usage: deno run -A cli.ts info [--model net.onnx]\n\nShows runtimes and the GPU adapter.",
    );
    return 0;
  }
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  console.log(`deno ${Deno.version.deno}, ${Deno.build.os}-${Deno.build.arch}`);
  console.log(
    `webgpu adapter: ${adapter ? adapter.info.description || adapter.info.vendor : "none"}`,
  );
  return 0;
}

registerCommand("info", "show runtimes, GPU adapter and model details", _info);
