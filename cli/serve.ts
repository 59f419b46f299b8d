/**
 * `serve`: the edge preview server (docs/cli.md, "serve").
 *
 * @module
 */

import { numberFlag, parseFlags } from "./args.ts";
import { createPreviewHandler, PREVIEW_MAX_SIDE, PREVIEW_STEPS } from "../preview/handler.ts";

const _HELP = `usage: deno run -A cli.ts serve [--port 8000] [--hostname 127.0.0.1] [--max-steps 50]
       [--concurrency 1] [--queue 8] [--timeout 60] [--max-body-mb 10]
       [--model builtin:unet-edge] [--irsde-model builtin:irsde] [--threads 1]
       [--steps ${PREVIEW_STEPS}] [--max-side ${PREVIEW_MAX_SIDE}] [--verbose]

Serves the preview page at /, GET /healthz and
POST /v1/restore?task=sr-bicubic|sr|colorize|denoise|inpaint&scale=K&steps=N&seed=S
(&method=irsde with task=denoise: IR-SDE; add &stream=1 for server-sent step progress with
x0 previews). --verbose logs one line per request; by default nothing per request.

example:
  deno run -A cli.ts serve --port 8000
  curl -s --data-binary @photo.png -H 'content-type: image/png' \\
    'http://127.0.0.1:8000/v1/restore?task=sr-bicubic&scale=4' -o out.png`;

async function _serve(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    port: { type: "string" },
    hostname: { type: "string" },
    "max-steps": { type: "string" },
    concurrency: { type: "string" },
    queue: { type: "string" },
    timeout: { type: "string" },
    "max-body-mb": { type: "string" },
    model: { type: "string" },
    "irsde-model": { type: "string" },
    verbose: { type: "boolean" },
    threads: { type: "string" },
    steps: { type: "string" },
    "max-side": { type: "string" },
  }, "serve");
  if (values.help) {
    console.log(_HELP);
    return 0;
  }
  const handler = createPreviewHandler({
    maxSteps: numberFlag(values, "max-steps", 50, { integer: true, min: 1, max: 1000 }),
    concurrency: numberFlag(values, "concurrency", 1, { integer: true, min: 1 }),
    queue: numberFlag(values, "queue", 8, { integer: true, min: 0 }),
    timeoutMs: numberFlag(values, "timeout", 60, { min: 1 }) * 1000,
    maxBodyBytes: numberFlag(values, "max-body-mb", 10, { min: 0.001 }) * 1024 * 1024,
    model: typeof values.model === "string" ? values.model : undefined,
    irsdeModel: typeof values["irsde-model"] === "string" ? values["irsde-model"] : undefined,
    threads: numberFlag(values, "threads", undefined, { integer: true, min: 1 }),
    defaultSteps: numberFlag(values, "steps", undefined, { integer: true, min: 1, max: 1000 }),
    maxSide: numberFlag(values, "max-side", undefined, { integer: true, min: 16, max: 4096 }),
  });
  const hostname = typeof values.hostname === "string" ? values.hostname : "127.0.0.1";
  const port = numberFlag(values, "port", 8000, { integer: true, min: 0, max: 65535 });
  const server = Deno.serve({
    hostname,
    port,
    onListen: ({ hostname, port }) =>
      console.error(`diffrestore preview on http://${hostname}:${port}/`),
  }, values.verbose ? _logged(handler) : handler);
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
  return 0;
}

// one line per request once its answer is delivered (or the delivery failed: a client that left)
function _logged(
  handler: (req: Request) => Promise<Response>,
): (req: Request, info: Deno.ServeHandlerInfo) => Promise<Response> {
  return async (req, info) => {
    const t0 = performance.now(), url = new URL(req.url);
    const res = await handler(req);
    const line = (outcome: string) =>
      console.error(
        `${req.method} ${url.pathname}${url.search} ${res.status} ${outcome} ${
          ((performance.now() - t0) / 1000).toFixed(2)
        } s`,
      );
    info.completed.then(() => line("sent"), () => line("client gone"));
    return res;
  };
}

/** The `serve` command's entry point. */
export const run: (args: string[]) => Promise<number> = _serve;

/** The library options this command's flags set, to name the flag in an error about one. */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  model: "--model",
  steps: "--steps",
  threads: "--threads",
};
