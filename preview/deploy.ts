/**
 * The Deploy-style entry of the edge preview: `deno serve --allow-net --allow-read --allow-env
 * preview/deploy.ts` (README, "Deploying the preview"). It needs no write permission and no native
 * module: the network runs on the WebAssembly ONNX runtime.
 *
 * @module
 */

import { createPreviewHandler } from "./handler.ts";

export default { fetch: createPreviewHandler() } satisfies Deno.ServeDefaultExport;
