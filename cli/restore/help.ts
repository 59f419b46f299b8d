/**
 * `restore --help`: the options of every method; DDNM's task lines come from the task table.
 *
 * @module
 */

import { DEFAULT_MAX_PIXELS } from "../../lib/image.ts";
import { ddnmTaskHelp } from "../../operators/ddnm_tasks.ts";

/** `restore --help`. */
export const RESTORE_HELP: string =
  `usage: deno run -A cli.ts restore <input> -o <output> [--method ddnm|irsde|diffbir] [options]

common options:
  --model F.onnx|builtin:NAME|https://…/F.onnx
                               the network, its manifest F.json beside it (default builtin:unet,
                               IR-SDE builtin:irsde; builtin:unet-edge, builtin:gmm and
                               builtin:gaussian also ship; a URL is downloaded once into
                               ~/.cache/diffrestore/models, DIFFRESTORE_CACHE moves it)
  --model-spec F.json          the manifest, when it is not beside the model
  --sha256 HEX                 check a model by URL
  --steps N                    sampling steps (default: the model's; DDNM: T_sampling, stride
                               1000 // N, else 100; IR-SDE: the manifest's T; DiffBIR: 50)
  --seed N                     seed of the documented Gaussian generator (default 0)
  --noise F.npy                read the standard-normal draws from a float32 .npy instead
  --backend cpu|webgpu|auto    where the per-step math runs (auto: webgpu on a hardware GPU)
  --ort auto|native|wasm|webgpu  how the networks run (auto: native when it loads, else wasm)
  --threads N                  CPU threads of the ONNX runtime
  --check-ort                  repeat each network's first call on wasm; stop on a difference
  -o OUT.png|.jpg|.jpeg|.npy   the output, by extension; --bit-depth 16 (PNG), --quality Q
                               (JPEG, default 95); -o DIR/ for several inputs or a directory
  --quiet, --json              no progress bar; a JSON summary on stdout
  --debug                      the stack of an internal error
  --compare S.png              a sheet of input, output (and --reference R.png: PSNR/SSIM)
  --save-every K --save-dir D  write the x0 estimate every K steps
  --max-pixels N               refuse larger images (default ${DEFAULT_MAX_PIXELS})

DDNM (--method ddnm, the default):
  --task T, one of:
${ddnmTaskHelp("    ")}
  --scale K (sr)  --mask M.png (inpaint; white = known)  --kernel gauss|uniform|aniso (deblur)
  --ratio R (cs, cs-block; the input is the measurement .npy from 'degrade')  --cs-seed N
  --eta E (default: the model's for the task, else 0.85)
  --sigma-y S (0; > 0: DDNM+): the observation noise's standard deviation in [0,1] image
    units, at most 1 (0.1 is 25.5/255)
  --travel-length L  --travel-repeat R (1, 1)  --variant svd|simplified
  --fixed-lambda-noise  --fixed-deblur  --class N (class-conditional models)
  --warm-start S (in (0, 1]; the model's for the task, else 1): run the last share S of the
    schedule from the task's classical restoration, noised (bicubic for sr, the harmonic fill
    for inpaint, A+y otherwise), instead of every step from pure noise
  --samples K (the model's for the task, else 1): the mean of K posterior samples (less
    squared error, softer detail; K times the work)
  --window N (Mask-Shift windows for a model of any size)  --mask-shift fresh|reference
  --sampler ddnm|hq-demo (hq-demo: hq_demo's respaced posterior with RePaint jumps, --steps 100,
    travel 10 x 3 by default; --paper-lambda for the paper's λ instead of the reference's)

IR-SDE (--method irsde; without --model, builtin:irsde for Gaussian noise of sigma 25/255):
  --solver sde|ode|posterior (the model's, else sde)  --steps T  --max-sigma S (/255 above 1)
  --eps E
  --schedule cosine|linear|constant (the manifest's)
  --task sr --scale K (bicubic-upsample the LQ into mu)  --task inpaint --mask M.png (holes: 1)
  --noise-level S (/255 above 1; DenoisingSDE networks without a mu input: start from the
    matching step)

DiffBIR (--method diffbir; --model pipeline.json):
  --steps N (50)  --sampler spaced|ddim|edm_SOLVER|dpm++_m2  --eta E (ddim 0, edm 1)
  --cfg S (1)  --rescale-cfg
  EDM (DiffBIR HEAD; v2.1 uses --sampler edm_dpm++_3m_sde --steps 10): SOLVER is euler, euler_a,
    heun, dpm_2, dpm_2_a, lms, dpm++_2s_a, dpm++_sde, dpm++_2m, dpm++_2m_sde or dpm++_3m_sde;
    --s-churn 0 --s-tmin 0 --s-tmax 300 --s-noise 1 (--order 1: lms)
  dpm++_m1|m2|m3: multistep DPM-Solver++ (needs a float32 timestep input: fractional timesteps)
  --start-point noise|cond (cond: x_T = q_sample(condition latent, T−1))  --noise-aug K (0)
  --min-size 512: HEAD's rule, a short edge below 512 is enlarged for the diffusion stage and the
    result resized back (antialiased bicubic; default 0, off)
  --prompt P --negative-prompt N (a pipeline with a text encoder; DiffBIR v2's defaults: "" and
    "low quality, blurry, low-resolution, noisy, unsharp, weird textures", used with --cfg)
  --context F.npy --negative-context F.npy (override the prompts)  --strength S (1)
  --guidance-scale G (0: off)  --guidance-start 1001 --guidance-stop -1 --guidance-repeat 1
  --guidance-loss mse|wmse  --guidance-space latent
  --tile-size P --tile-stride Q (pixels)  --color-fix wavelet|adain|none
  --scale K (or --upscale K): bicubic upscale of the input before stage 1 (1)

examples:
  deno run -A cli.ts restore small.jpg -o big.png --task sr-bicubic --scale 4
  deno run -A cli.ts restore hole.png -o filled.png --task inpaint --mask mask.png
  deno run -A cli.ts restore noisy.png -o clean.jpg --task denoise --sigma-y 0.1
  deno run -A cli.ts restore noisy.png -o clean.png --method irsde

Flags a task does not read are ignored with a note; files of a folder that are not PNG, JPEG or
.npy are listed as skipped. Exit status: 0 done, 2 usage error (a flag's value refused), 1 any
other failure, 130 interrupted.`;
