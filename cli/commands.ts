/**
 * Registers every subcommand of the command line (their modules load lazily).
 *
 * @module
 */

import { registerCommand } from "./registry.ts";

registerCommand(
  "restore",
  "restore an image with DDNM, IR-SDE or DiffBIR",
  () => import("./restore/command.ts"),
);
registerCommand(
  "degrade",
  "apply a task's degradation to a clean image (make test pairs)",
  () => import("./degrade.ts"),
);
registerCommand(
  "info",
  "show runtimes, GPU adapter, built-in models and a model's details",
  () => import("./info.ts"),
);
registerCommand("bench", "time a sampler on your model and machine", () => import("./bench.ts"));
registerCommand(
  "serve",
  "serve the preview page and the /v1/restore API",
  () => import("./serve.ts"),
);
registerCommand(
  "demo",
  "restore a bundled photo three ways and write comparison sheets",
  () => import("./demo.ts"),
);
