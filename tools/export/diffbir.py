"""Export a DiffBIR pipeline to ONNX: the stage-1 restorer, the VAE encoder (latent mean) and
decoder, ControlNet and the UNet as one denoiser, the OpenCLIP text encoder with its BPE
vocabulary, and DIR/pipeline.json (docs/export.md).

    python3 tools/export/diffbir.py --repo DIFFBIR --sd SD21.ckpt --controlnet CONTROL.pth \\
        --stage1 STAGE1 --stage1-config configs/inference/swinir.yaml --out DIR \\
        [--cldm-config configs/inference/cldm.yaml] [--diffusion-config ...]

Both layouts of the repository are read: v2.0.0 (`model/`) and v2.1 (`diffbir/model/`). The
networks are built from the configs as the repository's own inference code builds them, and the
Stable Diffusion checkpoint's `state_dict` is mapped with `ControlLDM.load_pretrained_sd`.
"""

import contextlib
import importlib
import io
import os
import shutil
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
from _common import (  # noqa: E402
    ExportError,
    OutDir,
    Parser,
    export,
    load_checkpoint,
    load_strict,
    need_file,
    round_to_float16,
    run_main,
    save_probe,
    torch_modules,
)

# this folder must not shadow the seed repositories' packages (this very file may be diffbir.py)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

# DiffBIR v2's prompts (the pipeline's defaults; --prompt and --negative-prompt override them)
PROMPT = ""
NEGATIVE_PROMPT = "low quality, blurry, low-resolution, noisy, unsharp, weird textures"
# the stage-1 input is zero-padded to a multiple of 64, as DiffBIR's SwinIR pipeline does
STAGE1_MULTIPLE = 64


def _layout(repo):
    if os.path.isfile(os.path.join(repo, "model", "cldm.py")):
        return "model", os.path.join(repo, "model")
    if os.path.isfile(os.path.join(repo, "diffbir", "model", "cldm.py")):
        return "diffbir.model", os.path.join(repo, "diffbir", "model")
    raise ExportError(f"--repo {repo} does not look like DiffBIR (no model/cldm.py or diffbir/model/cldm.py)")


def _load_config(path, what):
    from omegaconf import OmegaConf

    need_file(path, what)
    try:
        return OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as e:
        raise ExportError(f"{what} {path}: {str(e).splitlines()[0]}")


def _instantiate(cfg, what):
    target = cfg.get("target")
    if not isinstance(target, str) or "." not in target:
        raise ExportError(f"{what}: missing key 'target'")
    module, name = target.rsplit(".", 1)
    try:
        # the repository prints its attention setup; the exporter's own output stays one line
        with contextlib.redirect_stdout(io.StringIO()):
            cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ExportError(f"{what}: cannot import {target} ({e})")
    params = cfg.get("params", {}) or {}
    for key in ("unet_cfg", "controlnet_cfg"):  # gradient checkpointing does not export
        if isinstance(params.get(key), dict):
            params[key]["use_checkpoint"] = False
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return cls(**params)
    except TypeError as e:
        raise ExportError(f"{what}: params do not fit {target}: {e}")


def _load_sd(cldm, sd, path):
    """ControlLDM.load_pretrained_sd, with every missing key reported at once."""
    prefixes = {"unet": "model.diffusion_model", "vae": "first_stage_model", "clip": "cond_stage_model"}
    missing, shapes = [], []
    for name, prefix in prefixes.items():
        for key, value in getattr(cldm, name).state_dict().items():
            full = f"{prefix}.{key}"
            if full not in sd:
                missing.append(full)
            elif tuple(sd[full].shape) != tuple(value.shape):
                shapes.append(full)
    if missing or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys: {', '.join(sorted(missing)[:4])}")
        if shapes:
            parts.append(f"{len(shapes)} keys of another shape: {', '.join(sorted(shapes)[:4])}")
        raise ExportError(f"--sd {path} does not fit the cldm config: " + "; ".join(parts))
    cldm.load_pretrained_sd(sd)


def main():
    p = Parser(prog="tools/export/diffbir.py", description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True, help="your checkout of DiffBIR")
    p.add_argument("--sd", required=True, help="Stable Diffusion 2.1 checkpoint (v2-1_512-ema-pruned.ckpt)")
    p.add_argument("--controlnet", required=True, help="DiffBIR's IRControlNet weights (v2.pth)")
    p.add_argument("--stage1", required=True, help="the stage-1 restorer's weights")
    p.add_argument("--stage1-config", required=True, help="configs/inference/swinir.yaml, bsrnet.yaml or scunet.yaml")
    p.add_argument("--out", required=True, help="the output folder")
    p.add_argument("--cldm-config", help="default: REPO/configs/inference/cldm.yaml")
    p.add_argument("--diffusion-config", help="default: REPO/configs/inference/diffusion.yaml")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    p.add_argument("--probe-size", type=int, default=64)
    a = p.parse_args()
    torch = torch_modules()
    package, model_dir = _layout(a.repo)
    os.environ.setdefault("ATTN_MODE", "vanilla")  # plain attention: exportable everywhere
    sys.path.insert(0, os.path.abspath(a.repo))
    cldm_cfg = _load_config(a.cldm_config or os.path.join(a.repo, "configs/inference/cldm.yaml"), "--cldm-config")
    diff_cfg = _load_config(
        a.diffusion_config or os.path.join(a.repo, "configs/inference/diffusion.yaml"), "--diffusion-config"
    )
    s1_cfg = _load_config(a.stage1_config, "--stage1-config")
    for path, what in ((a.sd, "--sd"), (a.controlnet, "--controlnet"), (a.stage1, "--stage1")):
        need_file(path, what)
    cldm = _instantiate(cldm_cfg, "--cldm-config")
    _load_sd(cldm, load_checkpoint(a.sd, "--sd"), a.sd)
    load_strict(cldm.controlnet, load_checkpoint(a.controlnet, "--controlnet"), f"--controlnet {a.controlnet}")
    stage1 = _instantiate(s1_cfg, "--stage1-config")
    load_strict(stage1, load_checkpoint(a.stage1, "--stage1"), f"--stage1 {a.stage1}")
    for m in (cldm, stage1):
        m.eval()
        if a.dtype == "float16":
            round_to_float16(m)
    nn = torch.nn

    class Stage1(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = stage1

        def forward(self, x):
            h, w = x.shape[2:]
            m = STAGE1_MULTIPLE
            x = torch.nn.functional.pad(x, (0, (m - w % m) % m, 0, (m - h % m) % m))
            y = self.net(x)
            f = y.shape[2] // x.shape[2]
            return y[:, :, : h * f, : w * f]

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.vae = cldm.vae

        def forward(self, x):
            return self.vae.encode(x).mode()  # the latent mean: a deterministic condition

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.vae = cldm.vae

        def forward(self, z):
            return self.vae.decode(z)

    class Denoiser(nn.Module):
        """ControlNet and the UNet as ControlLDM.forward runs them, every control scaled by strength."""

        def __init__(self):
            super().__init__()
            self.controlnet, self.unet = cldm.controlnet, cldm.unet

        def forward(self, x, t, cond, context, strength):
            control = self.controlnet(x=x, hint=cond, timesteps=t, context=context)
            control = [c * strength for c in control]
            return self.unet(x=x, timesteps=t, context=context, control=control, only_mid_control=False)

    class TextEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.clip = cldm.clip

        def forward(self, tokens):
            return self.clip(tokens)

    s = a.probe_size
    g = torch.Generator().manual_seed(0)
    image = {0: "n", 2: "h", 3: "w"}
    with OutDir(a.out) as out:
        # a size that is not a multiple of 64 exercises the padding
        s1 = s - 8 if s % STAGE1_MULTIPLE == 0 else s
        lq = torch.rand(1, 3, s1, s1, generator=g)
        ins, y = export(out, "stage1", Stage1(), [lq], ["lq"], ["hq"], {"lq": image, "hq": image}, a.dtype)
        save_probe(out, "stage1", ["lq"], ins, y, (1e-3, 1e-4))
        factor = y.shape[2] // s1
        img = torch.rand(1, 3, s, s, generator=g) * 2 - 1
        ins, z = export(out, "vae_encoder", Encoder(), [img], ["image"], ["latent"],
                        {"image": image, "latent": image}, a.dtype)
        save_probe(out, "vae_encoder", ["image"], ins, z, (1e-3, 1e-4))
        lat = torch.randn(1, z.shape[1], s // 8, s // 8, generator=g)
        ins, d = export(out, "vae_decoder", Decoder(), [lat], ["latent"], ["image"],
                        {"latent": image, "image": image}, a.dtype)
        save_probe(out, "vae_decoder", ["latent"], ins, d, (1e-3, 1e-4))
        clip = cldm.clip.model
        length = int(clip.positional_embedding.shape[0])
        tokens = torch.randint(0, int(clip.token_embedding.weight.shape[0]), (1, length), generator=g)
        ins, ctx = export(out, "text_encoder", TextEncoder(), [tokens], ["tokens"], ["context"],
                          {"tokens": {0: "n"}, "context": {0: "n"}}, a.dtype)
        save_probe(out, "text_encoder", ["tokens"], ins, ctx, (1e-3, 1e-4))
        args = [lat, torch.tensor([500.0]), torch.randn(1, z.shape[1], s // 8, s // 8, generator=g),
                torch.randn(1, length, ctx.shape[2], generator=g), torch.tensor(1.0)]
        names = ["x", "t", "cond", "context", "strength"]
        axes = {"x": image, "t": {0: "n"}, "cond": image, "context": {0: "n"}, "out": image}
        ins, o = export(out, "denoiser", Denoiser(), args, names, ["out"], axes, a.dtype)
        save_probe(out, "denoiser", names, ins, o, (1e-3, 1e-4))
        vocab = os.path.join(model_dir, "open_clip", "bpe_simple_vocab_16e6.txt.gz")
        need_file(vocab, "the tokenizer vocabulary")
        shutil.copyfile(vocab, out.file("bpe_simple_vocab_16e6.txt.gz"))
        params = diff_cfg.get("params", {}) or {}
        sf = float((cldm_cfg.get("params") or {}).get("latent_scale_factor", 0.18215))
        latent_c = int(z.shape[1])
        manifests = {
            "stage1.json": {"kind": "restorer", "inputs": {"x": "lq"}, "output": "hq", "range": [0, 1],
                            "channels": 3, "upscale": factor},
            "vae_encoder.json": {"kind": "vae-encoder", "inputs": {"x": "image"}, "output": "latent",
                                 "range": [-1, 1], "channels": 3, "downscale": 8},
            "vae_decoder.json": {"kind": "vae-decoder", "inputs": {"x": "latent"}, "output": "image",
                                 "range": [-1, 1], "channels": latent_c, "upscale": 8},
            "denoiser.json": {
                "kind": "latent-denoiser",
                "inputs": {n: n for n in names},
                "output": "out",
                "prediction": params.get("parameterization", "eps"),
                "timestep": {"dtype": "float32"},
                "channels": latent_c,
                "schedule": {
                    "beta": "scaled_linear",
                    "betaStart": float(params.get("linear_start", 0.00085)),
                    "betaEnd": float(params.get("linear_end", 0.012)),
                    "trainSteps": int(params.get("timesteps", 1000)),
                    "zeroTerminalSnr": bool(params.get("zero_snr", False)),
                },
            },
            "text_encoder.json": {"kind": "text-encoder", "inputs": {"tokens": "tokens"}, "output": "context",
                                  "vocabulary": "bpe_simple_vocab_16e6.txt.gz", "contextLength": length},
        }
        for name, m in manifests.items():
            out.write_json(name, m)
        out.write_json("pipeline.json", {
            "kind": "diffbir-pipeline",
            "stage1": "stage1.onnx",
            "vaeEncoder": "vae_encoder.onnx",
            "vaeDecoder": "vae_decoder.onnx",
            "denoiser": "denoiser.onnx",
            "textEncoder": "text_encoder.onnx",
            "scaleFactor": sf,
            "prompt": PROMPT,
            "negativePrompt": NEGATIVE_PROMPT,
            "exportedFrom": {"repository": "DiffBIR", "layout": package, "dtype": a.dtype,
                             "stage1": os.path.basename(a.stage1_config)},
        })
    print(f"wrote {os.path.join(a.out, 'pipeline.json')} and its five networks ({package}, {a.dtype})")


if __name__ == "__main__":
    run_main(main)
